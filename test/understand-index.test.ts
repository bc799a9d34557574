import { describe, expect, it } from 'vitest';
import { compareWindows, DEFAULT_WINDOW, type PreviousTurn, understandQuestion } from '../src/agents/understand/index.ts';

const services = ['checkout', 'payment', 'product-catalog', 'frontend', 'cart', 'shipping'];
const z = (s: string) => Date.parse(`${s.replace(' ', 'T')}:00Z`);
const now = z('2026-11-27 10:00');
const MIN = 60_000;

describe('understandQuestion: toFacts()', () => {
  it('looks at a quarter of an hour after an incident start, not an hour', () => {
    const q = 'an incident started at 05:11, why?';
    expect(understandQuestion(q, { services, now }).toFacts()).toEqual({
      services: [],
      window: { from: z('2026-11-27 05:06'), to: z('2026-11-27 05:26') },
      incidentStart: z('2026-11-27 05:11'),
      words: ['an', 'incident', 'started', 'at', '05', '11', 'why'],
    });
  });

  it('reads a date in words instead of taking today', () => {
    const facts = understandQuestion('why did checkout fail in the incident at 05:18 UTC on 2022-08-22?', { services, now }).toFacts();
    expect(facts.incidentStart).toBe(z('2022-08-22 05:18'));
    expect(facts.window).toEqual({ from: z('2022-08-22 05:13'), to: z('2022-08-22 05:33') });
  });

  it('gives a range its start, as today\'s reader does for "between"', () => {
    const facts = understandQuestion('why did checkout fail between 05:10 and 05:40?', { services, now }).toFacts();
    expect(facts).toMatchObject({
      window: { from: z('2026-11-27 05:10'), to: z('2026-11-27 05:40') },
      incidentStart: z('2026-11-27 05:10'),
    });
  });

  it('names no window when the question names no time (the caller keeps its defaults)', () => {
    expect(understandQuestion('show me the slowest endpoints', { services, now }).toFacts()).toEqual({
      services: [],
      words: ['show', 'me', 'the', 'slowest', 'endpoints'],
    });
  });
});

describe('understandQuestion: windows', () => {
  it.each([
    ['is checkout healthy?', 'status', 15],
    ['which service has the most errors?', 'ranking', 60],
    ['any deploys?', 'changes', 24 * 60],
    ['why is checkout failing?', 'root_cause', 30],
    ['hello', 'unknown', 30],
  ] as const)('"%s" (%s) looks back %i minutes by default', (q, intent, minutes) => {
    const u = understandQuestion(q, { services, now });
    expect(u.intent.intent).toBe(intent);
    expect(DEFAULT_WINDOW[intent]).toBe(minutes);
    expect(u.window).toEqual({ from: now - minutes * MIN, to: now });
    expect(u.windowSource).toBe('default');
  });

  it('takes the window the question names, with its baseline and start', () => {
    const u = understandQuestion('is checkout slow since 04:30?', { services, now });
    expect(u.intent.intent).toBe('status');
    expect(u.windowSource).toBe('question');
    expect(u.window).toEqual({ from: z('2026-11-27 04:25'), to: now });
    expect(u.baseline).toEqual({ from: z('2026-11-27 03:25'), to: z('2026-11-27 04:25') });
    expect(u.incidentStart).toBe(z('2026-11-27 04:30'));
    expect(u.describe).toBe('04:25–10:00 UTC');
  });

  it("states the window in the caller's zone", () => {
    const u = understandQuestion('what happened at 10:00?', { services, now, zone: 'Europe/Berlin' });
    expect(u.window).toEqual({ from: z('2026-11-27 08:55'), to: z('2026-11-27 09:15') });
    expect(u.zone).toBe('Europe/Berlin');
    expect(u.describe).toBe('09:55–10:15 Europe/Berlin');
  });

  it('flags a future time rather than looking at now', () => {
    const u = understandQuestion('why will checkout fail on 2027-01-05?', { services, now });
    expect(u.time?.future).toBe(true);
    expect(u.window).toEqual({ from: z('2027-01-05 00:00'), to: z('2027-01-06 00:00') });
  });
});

describe('understandQuestion: follow-ups', () => {
  const previous: PreviousTurn = {
    intent: 'root_cause',
    services: ['checkout'],
    hadRootCause: true,
    window: { from: z('2026-11-27 05:06'), to: z('2026-11-27 05:26') },
    baseline: { from: z('2026-11-27 04:06'), to: z('2026-11-27 05:06') },
    incidentStart: z('2026-11-27 05:11'),
  };

  it('carries the subject and the window over', () => {
    const u = understandQuestion('what should I do about it?', { services, now, previous });
    expect(u.intent.intent).toBe('followup_action');
    expect(u.services).toEqual(['checkout']);
    expect(u.subjectSource).toBe('previous');
    expect(u.window).toEqual(previous.window);
    expect(u.windowSource).toBe('previous');
    expect(u.baseline).toEqual(previous.baseline);
    expect(u.incidentStart).toBe(previous.incidentStart);
    // Today's facts stay what the question itself says.
    expect(u.toFacts()).toEqual({ services: [], words: ['what', 'should', 'i', 'do', 'about', 'it'] });
  });

  it('runs the earlier intent on another subject, in the earlier window', () => {
    const u = understandQuestion('and shipping?', { services, now, previous });
    expect(u.intent.intent).toBe('followup_subject');
    expect(u.runAs).toBe('root_cause');
    expect(u.services).toEqual(['shipping']);
    expect(u.subjectSource).toBe('question');
    expect(u.window).toEqual(previous.window);
  });

  it('runs the earlier intent on the earlier subject at another time', () => {
    const u = understandQuestion('and yesterday?', { services, now, previous });
    expect(u.runAs).toBe('root_cause');
    expect(u.services).toEqual(['checkout']);
    expect(u.window).toEqual({ from: z('2026-11-26 00:00'), to: z('2026-11-27 00:00') });
    expect(u.windowSource).toBe('question');
  });

  it('does not carry anything into a fresh question', () => {
    const u = understandQuestion('which service has the most errors?', { services, now, previous });
    expect(u.services).toEqual([]);
    expect(u.windowSource).toBe('default');
  });
});

describe('understandQuestion: subjects', () => {
  it('lists what no telemetry names', () => {
    const u = understandQuestion('why is host infrastructure002A slow?', { services, now, known: { host: ['web01'] } });
    expect(u.intent.intent).toBe('root_cause');
    expect(u.services).toEqual([]);
    expect(u.unknown.map((m) => `${m.kind} ${m.name}`)).toEqual(['host infrastructure002A']);
  });
});

describe('compare', () => {
  it('compares today so far with the same hours yesterday', () => {
    const u = understandQuestion('compare today with yesterday', { services, now });
    expect(u.compare).toEqual({
      current: { from: z('2026-11-27 00:00'), to: now },
      reference: { from: z('2026-11-26 00:00'), to: z('2026-11-26 10:00') },
      how: 'the same hours on 2026-11-26',
    });
    expect(u.window).toEqual(u.compare?.current);
  });

  it('compares the last hour with a week earlier', () => {
    expect(compareWindows('is it worse than last week?', now)).toEqual({
      current: { from: z('2026-11-27 09:00'), to: now },
      reference: { from: z('2026-11-20 09:00'), to: z('2026-11-20 10:00') },
      how: 'the same window a week earlier',
    });
  });

  it('compares this hour with the one before', () => {
    expect(compareWindows('this hour vs the previous one', now)).toEqual({
      current: { from: z('2026-11-27 09:00'), to: now },
      reference: { from: z('2026-11-27 08:00'), to: z('2026-11-27 09:00') },
      how: 'the window of the same length just before',
    });
  });

  it('compares a named window with another named window', () => {
    expect(compareWindows('compare 09:00-09:30 with 08:00-08:30', now)).toEqual({
      current: { from: z('2026-11-27 09:00'), to: z('2026-11-27 09:30') },
      reference: { from: z('2026-11-27 08:00'), to: z('2026-11-27 08:30') },
      how: 'the window named',
    });
  });
});
