import { formatDuration } from '../../core/duration.ts';
import { baselineLength, whenText, type TimeWindow } from '../../core/window.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;

export interface WindowInput {
  now: number;
  /** What the question named: a window, the moment an incident started, a baseline before it. */
  question: { window?: TimeWindow; incidentStart?: number; baseline?: TimeWindow };
  /** The previous turn's windows, which a follow-up that names no time keeps. */
  previous?: { window: TimeWindow; baseline?: TimeWindow; incidentStart?: number };
  /** For an alert: when it started, and how far around that to look (policies/alerts.yaml). */
  alert?: { startsAt: number; beforeStartMs: number; minMs: number; maxMs: number };
  /** The default look back when nothing names a time. */
  defaultMs: number;
  /** The longest window (and baseline) a tool accepts. */
  maxWindowMs: number;
}

interface InvestigationWindows {
  window: TimeWindow;
  /** Absent: the tools' default, four times the window just before it. */
  baseline?: TimeWindow;
  incidentStart?: number;
  /** What the answer should say about the times: a start in the future, one older than the window. */
  notes: string[];
}

/**
 * The window an investigation looks at and the baseline it compares with.
 * The baseline always ends before the window starts, and before the
 * incident when its start is known (an alert's startsAt, a time in the
 * question), so it never holds the incident it is compared with. A start
 * in the future or long before the window is noted, not trusted.
 */
export function investigationWindows(input: WindowInput): InvestigationWindows {
  const { now } = input;
  const notes: string[] = [];
  let window: TimeWindow;
  let incidentStart: number | undefined;
  let baseline: TimeWindow | undefined;
  if (input.alert) {
    const a = input.alert;
    if (a.startsAt > now + MIN) {
      notes.push(
        `the alert says it starts at ${whenText(a.startsAt, now)}, in the future (a clock may be wrong); looked at the last ${formatDuration(a.minMs)}`,
      );
      window = { from: now - a.minMs, to: now };
    } else {
      window = { from: Math.max(now - a.maxMs, Math.min(now - a.minMs, a.startsAt - a.beforeStartMs)), to: now };
      if (a.startsAt < window.from) {
        notes.push(
          `the alert has been firing since ${whenText(a.startsAt, now)}, longer than the ${formatDuration(a.maxMs)} an investigation looks at; looked at the last ${formatDuration(a.maxMs)}`,
        );
      } else incidentStart = a.startsAt;
    }
  } else if (input.question.window) {
    window = input.question.window;
    incidentStart = input.question.incidentStart;
    baseline = input.question.baseline;
  } else if (input.previous) {
    ({ window, baseline, incidentStart } = input.previous);
  } else {
    window = { from: now - input.defaultMs, to: now };
  }
  window = { from: window.from, to: Math.min(window.to, now) };
  if (window.to - window.from > input.maxWindowMs) window.from = window.to - input.maxWindowMs;
  if (window.to <= window.from) window = { from: window.to - input.defaultMs, to: window.to };
  if (incidentStart !== undefined) {
    // Before the incident and before the window; a start far before the window cannot anchor it.
    const end = Math.min(window.from, incidentStart);
    baseline = window.from - end > 24 * HOUR ? undefined : { from: end - baselineLength(window), to: end };
  }
  if (baseline && (baseline.to > window.from || baseline.to <= baseline.from)) baseline = undefined;
  if (baseline && baseline.to - baseline.from > input.maxWindowMs) baseline = { from: baseline.to - input.maxWindowMs, to: baseline.to };
  return { window, ...(baseline ? { baseline } : {}), ...(incidentStart !== undefined ? { incidentStart } : {}), notes };
}
