import type { Policies } from '../policies/schema.ts';
import type { AlertState } from '../storage/threads.ts';
import { whenText } from '../core/window.ts';
import type { AlertContext } from '../core/alert.ts';

/** The alert group as an investigation sees it: name, service, severity, summary, start. */
export function alertContext(
  alerts: AlertState[],
  common: { labels: Record<string, string>; annotations: Record<string, string> },
  policy: Policies['alerts'],
  services: string[],
): AlertContext {
  const firing = alerts.filter((a) => a.status === 'firing');
  const first = [...(firing.length ? firing : alerts)].sort((a, b) => a.starts_at.localeCompare(b.starts_at))[0]!;
  const labels = { ...first.labels, ...common.labels };
  const annotations = { ...first.annotations, ...common.annotations };
  // The first service label whose value is a service of the workspace; else the first present.
  const candidates = policy.service_labels.flatMap((l) => [labels[l], ...alerts.map((a) => a.labels[l])]).filter((v): v is string => !!v);
  const service =
    candidates.find((v) => services.includes(v)) ??
    candidates.find((v) => services.some((s) => v.startsWith(`${s}-`)))?.replace(/-[a-z0-9]+(-[a-z0-9]+)?$/, '') ??
    candidates[0];
  return {
    alertname: labels.alertname ?? first.alertname,
    severity: labels.severity ?? 'unknown',
    ...(service ? { service } : {}),
    summary: annotations.summary ?? annotations.message ?? annotations.title ?? '',
    description: annotations.description ?? '',
    starts_at: Date.parse(first.starts_at),
    labels,
    ...((annotations.runbook_url ?? annotations.runbook) ? { runbook_url: annotations.runbook_url ?? annotations.runbook } : {}),
    firing: firing.length,
  };
}

/** The alert in words, as the first message of its thread; the start with its date when it is not today, and a start in the future said as such. */
export function alertQuestion(a: AlertContext, now: number): string {
  const more = a.firing > 1 ? ` (${a.firing} alerts firing in the group)` : '';
  const since =
    a.starts_at > now + 60_000 ? `with a start time in the future (${whenText(a.starts_at, now)})` : `since ${whenText(a.starts_at, now)}`;
  return `Alert ${a.alertname} is firing${a.service ? ` for ${a.service}` : ''} ${since}, severity ${a.severity}${more}.${a.summary ? ` ${a.summary}.` : ''}${a.description ? ` ${a.description}` : ''} What is the cause?`
    .replace(/\.\./g, '.')
    .slice(0, 3900);
}
