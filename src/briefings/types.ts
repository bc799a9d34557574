import { z } from 'zod';
import { Evidence } from '../core/evidence.ts';

/** How a finding or an incident stands against the previous briefing of the same schedule. */
export const Status = z.enum(['new', 'ongoing', 'worse', 'resolved']);
export type Status = z.infer<typeof Status>;

export const Severity = z.enum(['critical', 'major', 'minor', 'info']);
export type Severity = z.infer<typeof Severity>;
export const SEVERITY_RANK: Record<Severity, number> = { info: 0, minor: 1, major: 2, critical: 3 };

export const Trend = z.enum(['up', 'down', 'stable']);
export type Trend = z.infer<typeof Trend>;

export const KeyMetric = z.object({
  name: z.enum(['traffic', 'error_ratio', 'p95_latency', 'saturation']),
  service: z.string(),
  value: z.number(),
  unit: z.string(),
  /** The previous period of the same length. */
  previous: z.number().nullable(),
  /** The same period a day earlier (null when there is no data then, and for saturation). */
  previous_day: z.number().nullable(),
  /** Against the previous period, by the rule in `trend_rule`. */
  trend: Trend,
  trend_vs_day: Trend.nullable(),
  /** For saturation: the CPU used and the CPU limit it is the ratio of. */
  used: z.number().optional(),
  limit: z.number().optional(),
  evidence_ids: z.array(z.string()),
});
export type KeyMetric = z.infer<typeof KeyMetric>;

/** One thing detection found; its fingerprint is what later briefings compare. */
export const Finding = z.object({
  fingerprint: z.string(),
  kind: z.enum(['errors', 'latency', 'traffic', 'metric', 'log', 'change', 'crash', 'auth', 'provisioning', 'anomaly']),
  service: z.string().optional(),
  severity: Severity,
  summary: z.string(),
  evidence_ids: z.array(z.string()),
  start: z.string().optional(),
  end: z.string().optional(),
  /** A size to compare with the previous briefing (error ratio, count, score). */
  value: z.number().optional(),
  status: Status,
});
export type Finding = z.infer<typeof Finding>;

export const Citation = z.object({
  evidence_id: z.string(),
  title: z.string(),
  path: z.string(),
  anchor: z.string(),
  citation: z.string(),
  match: z.enum(['exact', 'strong']),
});
export type Citation = z.infer<typeof Citation>;

export const Incident = z.object({
  /** Stable across briefings for the same fingerprint. */
  id: z.string(),
  fingerprint: z.string(),
  start: z.string(),
  end: z.string(),
  severity: Severity,
  services: z.array(z.string()),
  origin: z.string(),
  kind: z.string(),
  summary: z.string(),
  evidence_ids: z.array(z.string()),
  status: Status,
  /** Runbook sections that apply (exact or strong matches only). */
  runbooks: z.array(Citation),
  /** Past incidents found similar (evidence ids of past_incident items). */
  similar_incidents: z.array(z.string()),
});
export type Incident = z.infer<typeof Incident>;

export const Recommendation = z.object({
  text: z.string(),
  evidence_ids: z.array(z.string()),
  citation: z.string().nullable(),
});
export type Recommendation = z.infer<typeof Recommendation>;

export const Chart = z.object({
  title: z.string(),
  service: z.string().nullable(),
  measure: z.string(),
  unit: z.string(),
  evidence_id: z.string(),
  /** Windows the online detector scored as anomalous, and incident windows. */
  anomalies: z.array(z.object({ from: z.string(), to: z.string(), source: z.enum(['detector', 'incident']) })),
});
export type Chart = z.infer<typeof Chart>;

export const Delivery = z.object({
  channel: z.enum(['webhook', 'slack']),
  target: z.string(),
  status: z.enum(['pending', 'delivered', 'failed', 'skipped']),
  attempts: z.number().int(),
  at: z.string().nullable(),
  error: z.string().optional(),
});
export type Delivery = z.infer<typeof Delivery>;

export const Briefing = z.object({
  id: z.string(),
  workspace: z.string(),
  name: z.string(),
  period: z.object({ start: z.string(), end: z.string() }),
  created_at: z.string(),
  trigger: z.enum(['schedule', 'api', 'cli']),
  requested_by: z.string(),
  quiet: z.boolean(),
  summary: z.string(),
  key_metrics: z.array(KeyMetric),
  trend_rule: z.string(),
  incidents: z.array(Incident),
  findings: z.array(Finding),
  recommendations: z.array(Recommendation),
  evidence: z.array(Evidence),
  citations: z.array(Citation),
  charts: z.array(Chart),
  prompts: z.array(z.object({ id: z.string(), version: z.number().int(), hash: z.string() })),
  model: z.string().nullable(),
  grounding: z.record(z.string(), z.unknown()).nullable(),
  path: z.enum(['model', 'narrator']),
  previous_id: z.string().nullable(),
  delivery: z.array(Delivery),
  /** Tool calls that failed (named, with the failing fields): the briefing says what it could not read. */
  gaps: z.array(z.string()),
  /** Each tool call: what it was for, how long it took (ms), how many evidence items it gave. */
  tool_runs: z.array(z.object({ tool: z.string(), purpose: z.string(), elapsed_ms: z.number(), evidence: z.number().int() })).default([]),
});
export type Briefing = z.infer<typeof Briefing>;
