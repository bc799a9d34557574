/** What an investigation needs to know of the alert it starts from. */
export interface AlertContext {
  alertname: string;
  severity: string;
  service?: string;
  summary: string;
  description: string;
  /** When the earliest firing alert started (ms). */
  starts_at: number;
  labels: Record<string, string>;
  runbook_url?: string;
  firing: number;
}

/** A label rule of policies/alerts.yaml as a regular expression; `(?i)` in front means case-insensitive. */
export function labelPattern(source: string): RegExp {
  const insensitive = source.startsWith('(?i)');
  return new RegExp(insensitive ? source.slice(4) : source, insensitive ? 'i' : '');
}
