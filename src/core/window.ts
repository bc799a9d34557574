import { z } from 'zod';

/** A span of time in epoch milliseconds: from inclusive, to exclusive. */
export interface TimeWindow {
  from: number;
  to: number;
}

/** A time range as ISO 8601 strings, the way evidence and answers carry it. */
export const TimeRange = z.object({ from: z.string(), to: z.string() });
export type TimeRange = z.infer<typeof TimeRange>;

export const iso = (ms: number) => new Date(ms).toISOString();

/** HH:MM UTC, the way answers show times. */
export const hhmm = (at: number | string) => new Date(at).toISOString().slice(11, 16);

/** A window (and optionally its baseline) as the ISO arguments every telemetry tool takes. */
export function toolWindow(
  w: TimeWindow,
  baseline?: TimeWindow,
): { from: string; to: string; baseline_from?: string; baseline_to?: string } {
  return {
    from: iso(w.from),
    to: iso(w.to),
    ...(baseline ? { baseline_from: iso(baseline.from), baseline_to: iso(baseline.to) } : {}),
  };
}
