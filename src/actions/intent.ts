import type { ActionName } from '../core/proposal.ts';

/** An action a person asks for in a chat message ("roll payment back", "scale cart to 3"). */
export interface ActionRequest {
  action: ActionName;
  service: string;
  /** What was asked, as parsed: replicas for scale, the resource change for set_resources. */
  replicas?: number;
  resource?: { kind: 'cpu_request' | 'cpu_limit' | 'memory_request' | 'memory_limit'; quantity: string };
  text: string;
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A CPU or memory amount as people type it, as a Kubernetes quantity. */
function quantity(resource: 'cpu' | 'memory', amount: string, unit: string | undefined): string | undefined {
  const n = Number(amount);
  if (!Number.isFinite(n)) return undefined;
  const u = (unit ?? '').toLowerCase();
  if (resource === 'cpu') {
    if (u === 'm') return `${Math.round(n)}m`;
    if (u === '' || u.startsWith('core') || u === 'cpu' || u === 'cpus') return `${Math.round(n * 1000)}m`;
    return undefined;
  }
  if (u === 'mi' || u === 'mib' || u === 'mb' || u === 'm') return `${n}Mi`;
  if (u === 'gi' || u === 'gib' || u === 'gb' || u === 'g') return `${n}Gi`;
  return undefined;
}

/**
 * Finds an action request among the workspace's services in a message. Only
 * the person's own words are read here, never tool output; and a request is
 * at most a proposal for someone to approve.
 */
export function parseActionRequest(message: string, services: string[]): ActionRequest | undefined {
  const text = message.toLowerCase();
  const names = [...services]
    .sort((a, b) => b.length - a.length)
    .map(esc)
    .join('|');
  if (!names) return undefined;
  const svc = `(?<svc>${names})`;
  const patterns: [ActionName, RegExp][] = [
    ['rollback', new RegExp(`\\b(?:roll\\s*back|rollback|revert)\\s+(?:the\\s+)?${svc}\\b`)],
    ['rollback', new RegExp(`\\broll\\s+(?:the\\s+)?${svc}(?:\\s+deployment)?\\s+back\\b`)],
    ['rollout_restart', new RegExp(`\\b(?:restart|bounce|recycle)\\s+(?:the\\s+)?${svc}\\b`)],
    ['scale', new RegExp(`\\bscale\\s+(?:the\\s+)?${svc}(?:\\s+deployment)?\\s+(?:up\\s+|down\\s+|out\\s+|in\\s+)?to\\s+(?<n>-?\\d+)`)],
    [
      'set_resources',
      new RegExp(
        `\\b(?:raise|increase|bump|lower|decrease|reduce|set|change)\\s+(?:the\\s+)?${svc}(?:'s)?\\s+(?<res>memory|cpu)\\s+(?<kind>limit|request)s?\\s+to\\s+(?<amount>\\d+(?:\\.\\d+)?)\\s*(?<unit>m|mi|mib|mb|gi|gib|gb|g|cores?|cpus?)?\\b`,
      ),
    ],
  ];
  for (const [action, re] of patterns) {
    const m = re.exec(text);
    if (!m?.groups) continue;
    const service = services.find((s) => s.toLowerCase() === m.groups!.svc)!;
    if (action === 'scale') return { action, service, replicas: Number(m.groups.n), text: m[0] };
    if (action === 'set_resources') {
      const res = m.groups.res as 'cpu' | 'memory';
      const q = quantity(res, m.groups.amount!, m.groups.unit);
      if (!q) continue;
      return { action, service, resource: { kind: `${res}_${m.groups.kind}` as 'cpu_limit', quantity: q }, text: m[0] };
    }
    return { action, service, text: m[0] };
  }
  return undefined;
}
