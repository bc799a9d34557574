import { z } from 'zod';
import { parseDuration, formatDuration } from '../core/duration.ts';
import { problems, type FieldError } from '../core/problem.ts';
import { baselineLength, type TimeWindow } from '../core/window.ts';

const isoTime = z.iso.datetime({ offset: true, message: 'expected an ISO 8601 time such as 2026-11-22T05:18:00Z' });
const duration = z.string().refine((v) => parseDuration(v) !== undefined, 'expected a duration such as 30m, 2h or 1d');

/** The time arguments every telemetry tool takes. */
export const windowFields = {
  last: duration.optional().describe('window ending now (or at `to`), e.g. 30m, 2h'),
  from: isoTime.optional().describe('window start, ISO 8601'),
  to: isoTime.optional().describe('window end, ISO 8601 (default now)'),
  baseline_last: duration
    .optional()
    .describe('baseline length, ending where the window starts (default four times the window, at least 1h)'),
  baseline_from: isoTime.optional().describe('baseline start, ISO 8601'),
  baseline_to: isoTime.optional().describe('baseline end, ISO 8601'),
};

export type WindowInput = { [K in keyof typeof windowFields]?: string };

/** A tool's window with its baseline, resolved to milliseconds. */
export interface ResolvedWindow extends TimeWindow {
  baselineFrom: number;
  baselineTo: number;
}

const MIN = 60_000;

/**
 * Turns window arguments into times: `last`, `from`/`to` or a mix; the
 * baseline explicit, as a length before the window, or by default. Bad
 * combinations are 400s naming the field.
 */
export function resolveWindow(
  input: WindowInput,
  now: number,
  defaults: { last: string; maxWindowMs: number; baselineLast?: string },
): ResolvedWindow {
  const errors: FieldError[] = [];
  const ms = (v: string | undefined) => (v === undefined ? undefined : Date.parse(v));
  const last = input.last ? parseDuration(input.last)! : undefined;
  let from = ms(input.from);
  let to = ms(input.to);
  if (from !== undefined && to !== undefined && last !== undefined) {
    errors.push({ field: 'last', message: 'give at most two of from, to and last' });
  }
  if (from !== undefined && to === undefined) to = last !== undefined ? from + last : now;
  if (to === undefined) to = now;
  if (from === undefined) from = to - (last ?? parseDuration(defaults.last)!);
  if (from >= to) errors.push({ field: input.from ? 'from' : 'last', message: 'the window must end after it starts' });
  if (to > now + 5 * MIN) errors.push({ field: 'to', message: 'the window cannot end in the future' });
  if (to - from > defaults.maxWindowMs)
    errors.push({ field: 'last', message: `the window may be at most ${formatDuration(defaults.maxWindowMs)}` });

  let baselineFrom = ms(input.baseline_from);
  let baselineTo = ms(input.baseline_to);
  const baselineLast = input.baseline_last ? parseDuration(input.baseline_last)! : undefined;
  if (baselineFrom !== undefined || baselineTo !== undefined) {
    if (baselineLast !== undefined && baselineFrom !== undefined && baselineTo !== undefined) {
      errors.push({ field: 'baseline_last', message: 'give at most two of baseline_from, baseline_to and baseline_last' });
    }
    baselineTo ??= baselineFrom! + (baselineLast ?? to - from);
    baselineFrom ??= baselineTo - (baselineLast ?? to - from);
  } else {
    baselineTo = from;
    const fallback = defaults.baselineLast ? parseDuration(defaults.baselineLast)! : baselineLength({ from, to });
    baselineFrom = from - (baselineLast ?? fallback);
  }
  if (baselineFrom >= baselineTo) errors.push({ field: 'baseline_from', message: 'the baseline must end after it starts' });
  if (baselineTo > from) errors.push({ field: 'baseline_to', message: 'the baseline must end before the window starts' });
  if (baselineTo - baselineFrom > defaults.maxWindowMs)
    errors.push({ field: 'baseline_last', message: `the baseline may be at most ${formatDuration(defaults.maxWindowMs)}` });
  if (errors.length) throw problems.validation('the time window is not valid', errors);
  return { from, to, baselineFrom, baselineTo };
}
