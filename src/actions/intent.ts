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

/** A request in a person's words that is not (or not readably) an action of the catalogue. */
export interface OtherRequest {
  /** The words of the request, as typed (lower case). */
  text: string;
  /** Why it cannot be proposed. */
  reason: string;
}

/** The catalogue's actions as the patterns that read them, each with the service names it may name. */
function patterns(services: string[]): [ActionName, RegExp][] {
  const names = [...services]
    .sort((a, b) => b.length - a.length)
    .map(esc)
    .join('|');
  const svc = `(?<svc>${names})`;
  return [
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
}

function read(clause: string, services: string[]): ActionRequest | undefined {
  if (!services.length) return undefined;
  for (const [action, re] of patterns(services)) {
    const m = re.exec(clause);
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

/** Words that open a request to change something; those of the catalogue's actions first. */
const CATALOGUE_VERBS =
  /^(?:scale|restart|bounce|recycle|roll\s*back|rollback|revert|roll\s+\S+(?:\s+deployment)?\s+back)\b|^(?:raise|increase|bump|lower|decrease|reduce|set|change)\b.*\b(?:memory|cpu|limits?|requests?|replicas)\b/;
/** Verbs that change infrastructure in ways the catalogue has no action for. */
const OTHER_VERBS =
  /^(?:delete|remove|drop|destroy|kill|terminate|drain|cordon|uncordon|evict|shut\s*down|stop|disable|wipe|truncate|purge|flush|patch|deploy|redeploy|upgrade|downgrade|migrate|fail\s*over|failover|reboot|pause|suspend|resume|block|unblock|rotate|revoke)\b/;
/** Words after a catalogue verb that show it is not a request about a deployment ("restart in a loop"). */
const NOT_A_TARGET = new Set([
  'in',
  'a',
  'an',
  'on',
  'at',
  'it',
  'them',
  'loop',
  'loops',
  'again',
  'now',
  'when',
  'if',
  'because',
  'after',
  'before',
  'every',
  'all',
  'is',
  'was',
  'are',
  'were',
  'for',
  'with',
  'and',
  'or',
]);

/** What people put before a request: politeness, a question's opening, a connective. */
const LEAD =
  /^(?:(?:please|pls|kindly|now|just|also|then|and|so|ok(?:ay)?|go\s+ahead\s+and|let'?s|can\s+you|could\s+you|would\s+you|will\s+you|can\s+we|could\s+we|should\s+we|should\s+i|i\s+want\s+(?:you\s+)?to|we\s+need\s+to|i\s+need\s+you\s+to|you\s+should|we\s+should|try\s+to|immediately)\s*,?\s+)+/;

/** A message in clauses: sentences, and requests joined by "and", "then", commas. Decimal points stay. */
function clauses(text: string): string[] {
  return text
    .split(/[.;!?]+(?=\s|$)|\n+|,\s*|\s+(?:and\s+then|and|then|also|plus)\s+/)
    .map((c) => c.trim().replace(LEAD, '').trim())
    .filter(Boolean);
}

/**
 * Every request in a message: those the catalogue can read (an action on one
 * of the workspace's services), and those it cannot, each with why. Only a
 * person's own words are read here, never tool output or alert payloads; and
 * a request is at most a proposal for someone to approve.
 */
export function parseActionRequests(message: string, services: string[]): { requests: ActionRequest[]; others: OtherRequest[] } {
  const requests: ActionRequest[] = [];
  const others: OtherRequest[] = [];
  const offered = 'the catalogue (policies/remediate.yaml) offers scale, rollout_restart, rollback and set_resources';
  for (const clause of clauses(message.toLowerCase())) {
    const r = read(clause, services);
    if (r) {
      if (!requests.some((x) => x.action === r.action && x.service === r.service && x.text === r.text)) requests.push(r);
      continue;
    }
    const other = OTHER_VERBS.exec(clause);
    if (other && clause.split(/\s+/).length > 1) {
      others.push({
        text: clause.slice(0, 120),
        reason: `"${other[0].replace(/\s+/g, ' ')}" is not an action of the catalogue; ${offered}`,
      });
      continue;
    }
    const near = CATALOGUE_VERBS.exec(clause);
    if (!near) continue;
    // Looks like a catalogue action but does not read as one: say what is missing.
    const words = clause.split(/\s+/);
    const named = services.find((s) => words.some((w) => w.replace(/'s$/, '') === s.toLowerCase()));
    const target = words
      .slice(1)
      .map((w) => w.replace(/'s$/, ''))
      .find((w) => !['the', 'up', 'down', 'back', 'out', 'deployment', 'of', 'to'].includes(w));
    // "restart in a loop", "scale with load": words about a deployment, not a request of one.
    if (!named && target && (NOT_A_TARGET.has(target) || !/^[a-z0-9][-a-z0-9]*$/.test(target))) continue;
    const reason = !named
      ? target
        ? `${target} is not a service of this workspace`
        : 'it names no service of this workspace'
      : /^scale/.test(clause)
        ? `it does not say how many replicas ${named} should have (for example "scale ${named} to 3")`
        : /^(?:raise|increase|bump|lower|decrease|reduce|set|change)/.test(clause)
          ? `it could not be read as a resource change (for example "raise ${named}'s memory limit to 1Gi")`
          : `it could not be read as an action on ${named}`;
    others.push({ text: clause.slice(0, 120), reason });
  }
  return { requests, others };
}

/** The first action request of the catalogue in a message, if any (see parseActionRequests). */
export function parseActionRequest(message: string, services: string[]): ActionRequest | undefined {
  return parseActionRequests(message, services).requests[0];
}
