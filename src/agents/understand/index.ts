/**
 * Understanding a question: what answer it wants (intent), what it is about
 * (subject) and when (time), with the thread's earlier turn filling in what
 * a follow-up leaves out. Pure and deterministic.
 *
 * When the question names no time, the window depends on the intent
 * (DEFAULT_WINDOW): the present state is a short look back, rankings and
 * figures an hour, changes and security a day. Follow-ups keep the earlier
 * turn's window.
 */

import { classifyIntent, type Intent, type IntentResult } from './intent.ts';
import { findSubject, type Mention, type SubjectOptions } from './subject.ts';
import { describeWindow, parseTime, type TimeReading, type TimeWindow } from './time.ts';
import { DAY, dayStart, MIN, resolveZone, toWall, UTC } from './zone.ts';

export type { Intent, IntentResult, Measure, Ranked, Ranking, Stat, Tense } from './intent.ts';
export { classifyIntent, CONFIDENCE, CUES, INTENTS, PRECEDENCE } from './intent.ts';
export type { EntityKind, Mention, SubjectOptions, SubjectReading } from './subject.ts';
export { findSubject } from './subject.ts';
export type { TimeKind, TimeOptions, TimeReading, TimeWindow } from './time.ts';
export { describeWindow, parseTime, resolveZone } from './time.ts';

/** The shape `understand()` of src/agents/question.ts returns today, for callers that switch over. */
export interface QuestionFacts {
  services: string[];
  window?: { from: number; to: number };
  incidentStart?: number;
  words: string[];
}

/** What the thread's earlier turn was about. */
export interface PreviousTurn {
  /** The intent that ran (for a followup_subject, the intent it ran as). */
  intent: Intent;
  services: readonly string[];
  entities?: readonly Mention[];
  hadRootCause: boolean;
  window?: TimeWindow;
  baseline?: TimeWindow;
  incidentStart?: number;
}

export interface UnderstandOptions {
  services: readonly string[];
  now: number;
  /** The zone for clock times the question does not qualify (user or workspace setting); UTC by default. */
  zone?: string;
  previous?: PreviousTurn;
  /** Hosts, pods… the telemetry knows, so they can be marked known. */
  known?: SubjectOptions['known'];
}

export interface Understanding {
  text: string;
  intent: IntentResult;
  /** What to run: the intent, or for followup_subject the earlier intent on the new subject or time. */
  runAs: Intent;
  /** Services in focus: named by the question, else carried over from the earlier turn by a follow-up. */
  services: string[];
  /** Hosts, pods, nodes, jobs, namespaces, containers named (known or not). */
  entities: Mention[];
  /** Named things no telemetry knows: the answer should say so. */
  unknown: Mention[];
  subjectSource: 'question' | 'previous' | 'none';
  /** The time the question names, if any. */
  time?: TimeReading;
  /** The window to look at. */
  window: TimeWindow;
  windowSource: 'question' | 'previous' | 'default';
  baseline?: TimeWindow;
  incidentStart?: number;
  /** For compare: the two windows. */
  compare?: { current: TimeWindow; reference: TimeWindow; how: string };
  /** The window in words, for the answer: "05:13–05:33 UTC on 2022-08-22". */
  describe: string;
  zone: string;
  /** Lower-case words, for lexical routing (as today). */
  words: string[];
  /** Today's QuestionFacts: services named, the window named, the start named, the words. */
  toFacts(): QuestionFacts;
}

/** Minutes looked back when the question names no time. */
export const DEFAULT_WINDOW: Record<Intent, number> = {
  root_cause: 30,
  status: 15,
  ranking: 60,
  logs: 30,
  changes: 24 * 60,
  figures: 60,
  security: 24 * 60,
  efficiency: 24 * 60,
  compare: 60,
  followup_action: 30,
  followup_logs: 30,
  followup_explain: 30,
  followup_subject: 30,
  unknown: 30,
};

/** Words as src/agents/question.ts splits them, so lexical routing does not change. */
function questionWords(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^a-z0-9\-']+/)
    .filter(Boolean);
}

export function understandQuestion(text: string, opts: UnderstandOptions): Understanding {
  const { now, previous } = opts;
  const subject = findSubject(text, { services: opts.services, ...(opts.known ? { known: opts.known } : {}) });
  const time = parseTime(text, now, opts.zone ? { zone: opts.zone } : {});
  const names = [...subject.services, ...subject.entities.map((e) => e.name)];
  const intent = classifyIntent(text, {
    ...(previous ? { previous: { intent: previous.intent, subject: previous.services, hadRootCause: previous.hadRootCause } } : {}),
    subjects: names,
    hasTime: Boolean(time),
  });
  const runAs = intent.intent === 'followup_subject' ? (intent.followup?.runAs ?? 'status') : intent.intent;

  const inherits = Boolean(previous && intent.followup);
  let services = subject.services;
  let entities = subject.entities;
  let subjectSource: Understanding['subjectSource'] = names.length ? 'question' : 'none';
  if (inherits && previous && !names.length) {
    services = [...previous.services];
    entities = [...(previous.entities ?? [])];
    subjectSource = services.length || entities.length ? 'previous' : 'none';
  }

  const zone = time?.zone ?? (opts.zone && resolveZone(opts.zone)?.name) ?? 'UTC';
  let window: TimeWindow;
  let windowSource: Understanding['windowSource'];
  let baseline = time?.baseline;
  let incidentStart = time?.incidentStart;
  if (time) {
    window = time.window;
    windowSource = 'question';
  } else if (inherits && previous?.window) {
    window = previous.window;
    windowSource = 'previous';
    baseline = previous.baseline;
    incidentStart = previous.incidentStart;
  } else {
    window = { from: now - DEFAULT_WINDOW[runAs] * MIN, to: now };
    windowSource = 'default';
  }

  const u: Understanding = {
    text,
    intent,
    runAs,
    services,
    entities,
    unknown: subject.unknown,
    subjectSource,
    window,
    windowSource,
    describe: describeWindow(window, now, zone),
    zone,
    words: questionWords(text),
    toFacts: () => {
      const facts: QuestionFacts = { services: [...subject.services], words: questionWords(text) };
      if (time) facts.window = { ...time.window };
      // A range's start plays the part the old reader gave it ("between 05:10 and 05:40" starts at 05:10).
      const start = time?.incidentStart ?? (time?.kind === 'range' ? time.window.from : undefined);
      if (start !== undefined) facts.incidentStart = start;
      return facts;
    },
  };
  if (time) u.time = time;
  if (baseline) u.baseline = baseline;
  if (incidentStart !== undefined) u.incidentStart = incidentStart;
  if (runAs === 'compare') {
    const c = compareWindows(text, now, opts.zone);
    if (c) {
      u.compare = c;
      u.window = c.current;
      u.describe = describeWindow(c.current, now, zone);
    }
  }
  return u;
}

/** Where the question turns to what it compares against, most specific first. */
const CONNECTORS = [/\bthan\b/i, /\bvs\.?(?=\s|$)|\bversus\b/i, /\bagainst\b/i, /\bcompared\s+(?:to|with)\b/i, /\bwith\b/i, /\bto\b/i];
const WEEK_BEFORE = /\b(?:last\s+week|a\s+week\s+ago|the\s+week\s+before|same\s+(?:time|day)\s+last\s+week)\b/i;

/**
 * The two windows of a comparison. The current one is the time before the
 * connector ("today", "this hour"), else the last hour. The reference is:
 * the same hours a week earlier for "last week"; the same hours on the day
 * named ("yesterday", "27 Nov"); the window named when it is not a day; else
 * the window of the same length just before ("the previous one", "usual").
 */
export function compareWindows(
  text: string,
  now: number,
  zone?: string,
): { current: TimeWindow; reference: TimeWindow; how: string } | undefined {
  let head = text;
  let tail = '';
  for (const c of CONNECTORS) {
    const m = c.exec(text);
    if (m) {
      head = text.slice(0, m.index);
      tail = text.slice(m.index + m[0].length);
      break;
    }
  }
  const opts = zone ? { zone } : {};
  const headTime = parseTime(head, now, opts);
  const current = headTime && !headTime.future ? headTime.window : { from: now - DEFAULT_WINDOW.compare * MIN, to: now };
  const len = current.to - current.from;
  if (WEEK_BEFORE.test(tail)) {
    return { current, reference: { from: current.from - 7 * DAY, to: current.to - 7 * DAY }, how: 'the same window a week earlier' };
  }
  const ref = tail ? parseTime(tail, now, opts) : undefined;
  if (ref && (ref.kind === 'day' || ref.kind === 'since') && ref.explicit) {
    const z = resolveZone(ref.zone) ?? UTC;
    const day = toWall(current.from, z);
    const shift = ref.window.from - dayStart({ y: day.y, mo: day.mo, d: day.d }, z);
    const refDay = toWall(ref.window.from, z);
    // A whole day against a day so far: compare the same hours.
    const reference = { from: current.from + shift, to: current.to + shift };
    const name = `${refDay.y}-${String(refDay.mo).padStart(2, '0')}-${String(refDay.d).padStart(2, '0')}`;
    return { current, reference, how: `the same hours on ${name}` };
  }
  if (ref && !ref.future) return { current, reference: ref.window, how: 'the window named' };
  return { current, reference: { from: current.from - len, to: current.from }, how: 'the window of the same length just before' };
}
