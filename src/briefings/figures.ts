import type { Evidence } from '../core/evidence.ts';
import type { KeyMetric, Trend } from './types.ts';

/** The rule every trend follows, stated in each briefing. */
export const TREND_RULE =
  'up when the value is at least 10% above the one compared with and the change is meaningful ' +
  '(traffic: 1 req/min or more; error ratio: 0.5 percentage points or more; p95 latency: 5 ms or more; ' +
  'saturation, CPU used against the CPU limit: 5 percentage points or more); ' +
  'down when it is that much below; stable otherwise';

const MEANINGFUL: Record<KeyMetric['name'], number> = { traffic: 1, error_ratio: 0.005, p95_latency: 5, saturation: 0.05 };

export function trendOf(name: KeyMetric['name'], value: number, previous: number | null): Trend {
  if (previous === null) return 'stable';
  const diff = value - previous;
  if (Math.abs(diff) < MEANINGFUL[name]) return 'stable';
  const rel = previous === 0 ? Infinity : Math.abs(diff) / Math.abs(previous);
  if (rel < 0.1) return 'stable';
  return diff > 0 ? 'up' : 'down';
}

const MEASURES: { name: KeyMetric['name']; unit: string; now: string; base: string }[] = [
  { name: 'traffic', unit: 'req/min', now: 'rate_per_min', base: 'baseline_rate_per_min' },
  { name: 'error_ratio', unit: 'ratio', now: 'error_ratio', base: 'baseline_error_ratio' },
  { name: 'p95_latency', unit: 'ms', now: 'p95_ms', base: 'baseline_p95_ms' },
];

const perService = (items: Evidence[]) =>
  new Map(items.filter((e) => (e.kind === 'service_red' || e.kind === 'service_change') && e.service).map((e) => [e.service!, e]));

/**
 * Key figures per service from two service_overview results over the same
 * period: one against the previous period, one against the same period a day
 * earlier. A service with no requests in the period is left out.
 */
export function keyFigures(
  vsPrevious: Evidence[],
  vsDay: Evidence[],
  saturation: Evidence[] = [],
  names: { cpuUsage: string[]; cpuLimit: string[] } = { cpuUsage: [], cpuLimit: [] },
): KeyMetric[] {
  const prev = perService(vsPrevious);
  const day = perService(vsDay);
  const out: KeyMetric[] = [];
  for (const [service, e] of [...prev.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    if ((e.numbers.requests ?? 0) === 0) continue;
    const d = day.get(service);
    const hadDay = d !== undefined && (d.numbers.baseline_requests ?? 0) > 0;
    const hadPrev = (e.numbers.baseline_requests ?? 0) > 0;
    for (const m of MEASURES) {
      const value = e.numbers[m.now] ?? 0;
      const previous = hadPrev ? (e.numbers[m.base] ?? 0) : null;
      const previousDay = hadDay ? (d!.numbers[m.base] ?? 0) : null;
      out.push({
        name: m.name,
        service,
        value,
        unit: m.unit,
        previous,
        previous_day: previousDay,
        trend: trendOf(m.name, value, previous),
        trend_vs_day: previousDay === null ? null : trendOf(m.name, value, previousDay),
        evidence_ids: [e.id, ...(hadDay ? [d!.id] : [])],
      });
    }
    const sat = saturationOf(service, saturation, names);
    if (sat) out.push(sat);
  }
  return out;
}

/**
 * Saturation: the median CPU used against the median CPU limit (averages across the service's pods),
 * from metric_deviation over the period against the previous period; the first metric name of the
 * policy's lists the service has.
 */
function saturationOf(service: string, items: Evidence[], names: { cpuUsage: string[]; cpuLimit: string[] }): KeyMetric | undefined {
  const find = (list: string[]) =>
    list.map((n) => items.find((e) => e.service === service && e.attributes.signal === n)).find((e) => e !== undefined);
  const usage = find(names.cpuUsage);
  const limit = find(names.cpuLimit);
  if (!usage || !limit || !(limit.numbers.median! > 0)) return undefined;
  const value = round(usage.numbers.median! / limit.numbers.median!);
  const previous = limit.numbers.baseline_median! > 0 ? round(usage.numbers.baseline_median! / limit.numbers.baseline_median!) : null;
  return {
    name: 'saturation',
    service,
    value,
    unit: 'ratio',
    previous,
    previous_day: null,
    trend: trendOf('saturation', value, previous),
    trend_vs_day: null,
    used: usage.numbers.median!,
    limit: limit.numbers.median!,
    evidence_ids: [usage.id, limit.id],
  };
}

const round = (v: number) => Math.round(v * 10_000) / 10_000;
