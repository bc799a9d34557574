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

const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** A moment as answers say it: "05:18 UTC" today, "05:18 UTC on 2026-11-20" on another day. */
export function whenText(at: number, now: number): string {
  return dayOf(at) === dayOf(now) ? `${hhmm(at)} UTC` : `${hhmm(at)} UTC on ${dayOf(at)}`;
}

/** A window as answers say it: "05:06–05:33 UTC", with the date when it is not today. */
export function windowText(w: TimeWindow, now: number): string {
  const from = dayOf(w.from);
  const to = dayOf(w.to - 1);
  // A window that ends at midnight ends at 24:00 of its last day, not 00:00.
  const end = dayOf(w.to) === to ? hhmm(w.to) : '24:00';
  if (from === dayOf(now) && to === from) return `${hhmm(w.from)}–${end} UTC`;
  if (from === to) return `${hhmm(w.from)}–${end} UTC on ${from}`;
  return `${from} ${hhmm(w.from)} – ${to} ${end} UTC`;
}

/** The default baseline's length for a window (what the tools use too): four times it, between one hour and a day. */
export const baselineLength = (w: TimeWindow) => Math.min(86_400_000, Math.max(3_600_000, 4 * (w.to - w.from)));
