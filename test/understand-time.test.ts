import { describe, expect, it } from 'vitest';
import { describeWindow, parseTime, type TimeKind } from '../src/agents/understand/time.ts';

/** "2026-11-27 08:00" → ms (UTC). */
const z = (s: string) => Date.parse(`${s.replace(' ', 'T')}:00Z`);

// A Friday.
const NOW = '2026-11-27 10:00';
// Ten minutes after midnight, the day after the last day of February of a common year.
const AFTER_MIDNIGHT = '2026-03-01 00:10';

interface Row {
  q: string;
  now?: string;
  zone?: string;
  kind: TimeKind;
  window: [string, string];
  start?: string;
  baseline?: [string, string];
  /** The zone the reading names; UTC when unset. */
  inZone?: string;
  explicit?: boolean;
  future?: boolean;
  clipped?: boolean;
  matched?: string;
  note?: RegExp;
}

const rows: Row[] = [
  // relative
  {
    q: 'is checkout slow in the last 2 hours?',
    kind: 'relative',
    window: ['2026-11-27 08:00', '2026-11-27 10:00'],
    matched: 'in the last 2 hours',
  },
  { q: 'errors in the past 30 min', kind: 'relative', window: ['2026-11-27 09:30', '2026-11-27 10:00'], matched: 'in the past 30 min' },
  { q: 'what happened in the last hour', kind: 'relative', window: ['2026-11-27 09:00', '2026-11-27 10:00'] },
  { q: 'anything in the last few minutes?', kind: 'relative', window: ['2026-11-27 09:55', '2026-11-27 10:00'] },
  { q: 'deploys in the past day', kind: 'relative', window: ['2026-11-26 10:00', '2026-11-27 10:00'] },
  { q: 'p95 over the last 90 minutes', kind: 'relative', window: ['2026-11-27 08:30', '2026-11-27 10:00'] },
  { q: 'errors last 24h', kind: 'relative', window: ['2026-11-26 10:00', '2026-11-27 10:00'] },
  { q: 'the last half hour', kind: 'relative', window: ['2026-11-27 09:30', '2026-11-27 10:00'] },
  { q: 'checkout has been slow for 2 hours', kind: 'relative', window: ['2026-11-27 08:00', '2026-11-27 10:00'] },

  // clock times without a date: the most recent past occurrence
  {
    q: 'what happened at 14:00?',
    kind: 'point',
    window: ['2026-11-26 13:55', '2026-11-26 14:15'],
    start: '2026-11-26 14:00',
    baseline: ['2026-11-26 12:55', '2026-11-26 13:55'],
    matched: 'at 14:00',
    note: /not come yet today/,
  },
  {
    q: 'errors at 14:00 UTC',
    kind: 'point',
    window: ['2026-11-26 13:55', '2026-11-26 14:15'],
    start: '2026-11-26 14:00',
    baseline: ['2026-11-26 12:55', '2026-11-26 13:55'],
    matched: 'at 14:00 UTC',
  },
  {
    q: 'checkout at 2pm',
    kind: 'point',
    window: ['2026-11-26 13:55', '2026-11-26 14:15'],
    start: '2026-11-26 14:00',
    baseline: ['2026-11-26 12:55', '2026-11-26 13:55'],
  },
  {
    q: 'the spike around 5:18',
    kind: 'point',
    window: ['2026-11-27 05:13', '2026-11-27 05:33'],
    start: '2026-11-27 05:18',
    baseline: ['2026-11-27 04:13', '2026-11-27 05:13'],
    matched: 'spike around 5:18',
  },
  // within the tolerance, a clock time a few minutes ahead still means today
  {
    q: 'what happened at 10:03',
    kind: 'point',
    window: ['2026-11-27 09:50', '2026-11-27 10:00'],
    start: '2026-11-27 10:03',
    baseline: ['2026-11-27 08:50', '2026-11-27 09:50'],
    clipped: true,
  },
  {
    q: 'payment is failing since 04:30',
    kind: 'since',
    window: ['2026-11-27 04:25', '2026-11-27 10:00'],
    start: '2026-11-27 04:30',
    baseline: ['2026-11-27 03:25', '2026-11-27 04:25'],
    matched: 'since 04:30',
  },
  {
    q: 'logs from 14:00 to 14:30',
    kind: 'range',
    window: ['2026-11-26 14:00', '2026-11-26 14:30'],
    baseline: ['2026-11-26 12:55', '2026-11-26 13:55'],
    matched: 'from 14:00 to 14:30',
  },
  {
    q: 'between 09:00 and 09:30',
    kind: 'range',
    window: ['2026-11-27 09:00', '2026-11-27 09:30'],
    baseline: ['2026-11-27 07:55', '2026-11-27 08:55'],
    matched: 'between 09:00 and 09:30',
  },
  {
    q: 'between 1 and 2pm',
    kind: 'range',
    window: ['2026-11-26 13:00', '2026-11-26 14:00'],
    baseline: ['2026-11-26 11:55', '2026-11-26 12:55'],
  },
  {
    q: 'between 23:30 and 00:15',
    kind: 'range',
    window: ['2026-11-26 23:30', '2026-11-27 00:15'],
    baseline: ['2026-11-26 22:25', '2026-11-26 23:25'],
  },
  {
    q: 'errors 09:00-09:40',
    kind: 'range',
    window: ['2026-11-27 09:00', '2026-11-27 09:40'],
    baseline: ['2026-11-27 07:55', '2026-11-27 08:55'],
  },
  {
    q: 'anything after 9?',
    kind: 'since',
    window: ['2026-11-27 08:55', '2026-11-27 10:00'],
    start: '2026-11-27 09:00',
    baseline: ['2026-11-27 07:55', '2026-11-27 08:55'],
    matched: 'after 9',
  },
  { q: 'logs before 09:00', kind: 'until', window: ['2026-11-27 08:00', '2026-11-27 09:00'] },

  // dates
  {
    q: 'what happened at 2026-11-26T14:00:00Z',
    kind: 'point',
    window: ['2026-11-26 13:55', '2026-11-26 14:15'],
    start: '2026-11-26 14:00',
    baseline: ['2026-11-26 12:55', '2026-11-26 13:55'],
    explicit: true,
  },
  {
    q: 'it began at 2026-11-27T08:00+02:00',
    kind: 'point',
    window: ['2026-11-27 05:55', '2026-11-27 06:15'],
    start: '2026-11-27 06:00',
    baseline: ['2026-11-27 04:55', '2026-11-27 05:55'],
    inZone: 'UTC+02:00',
    explicit: true,
  },
  {
    q: 'the spike at 2026-11-26 14:00',
    kind: 'point',
    window: ['2026-11-26 13:55', '2026-11-26 14:15'],
    start: '2026-11-26 14:00',
    baseline: ['2026-11-26 12:55', '2026-11-26 13:55'],
    explicit: true,
  },
  { q: 'errors on 2026-11-25', kind: 'day', window: ['2026-11-25 00:00', '2026-11-26 00:00'], explicit: true, matched: 'on 2026-11-25' },
  {
    q: 'errors on 27 Nov',
    kind: 'day',
    window: ['2026-11-27 00:00', '2026-11-27 10:00'],
    explicit: true,
    clipped: true,
    matched: 'on 27 Nov',
  },
  { q: 'outage on 27 November 2025', kind: 'day', window: ['2025-11-27 00:00', '2025-11-28 00:00'], explicit: true },
  { q: 'what broke Nov 20', kind: 'day', window: ['2026-11-20 00:00', '2026-11-21 00:00'], explicit: true },
  // without a year, a day still to come this year is last year's
  { q: 'on Dec 3', kind: 'day', window: ['2025-12-03 00:00', '2025-12-04 00:00'], explicit: true, note: /no year given/ },
  {
    q: 'November 26th at 14:00',
    kind: 'point',
    window: ['2026-11-26 13:55', '2026-11-26 14:15'],
    start: '2026-11-26 14:00',
    baseline: ['2026-11-26 12:55', '2026-11-26 13:55'],
    explicit: true,
  },
  { q: 'on 25/11', kind: 'day', window: ['2026-11-25 00:00', '2026-11-26 00:00'], explicit: true },
  // both could be a month: day/month, said in a note
  { q: 'on 05/11', kind: 'day', window: ['2026-11-05 00:00', '2026-11-06 00:00'], explicit: true, note: /ambiguous; read as day\/month/ },
  { q: 'on 11/25', kind: 'day', window: ['2026-11-25 00:00', '2026-11-26 00:00'], explicit: true, note: /month\/day/ },
  { q: 'on 24.12.2025', kind: 'day', window: ['2025-12-24 00:00', '2025-12-25 00:00'], explicit: true },
  {
    q: 'the incident at 05:18 UTC on 2022-08-22',
    kind: 'point',
    window: ['2022-08-22 05:13', '2022-08-22 05:33'],
    start: '2022-08-22 05:18',
    baseline: ['2022-08-22 04:13', '2022-08-22 05:13'],
    explicit: true,
    matched: 'incident at 05:18 UTC on 2022-08-22',
  },
  {
    q: 'on 2022-08-22, between 05:10 and 05:40',
    kind: 'range',
    window: ['2022-08-22 05:10', '2022-08-22 05:40'],
    baseline: ['2022-08-22 04:05', '2022-08-22 05:05'],
    explicit: true,
  },
  {
    q: 'On 20 Nov, checkout failed at 14:00',
    kind: 'point',
    window: ['2026-11-20 13:55', '2026-11-20 14:15'],
    start: '2026-11-20 14:00',
    baseline: ['2026-11-20 12:55', '2026-11-20 13:55'],
    explicit: true,
  },
  { q: 'on 5 May', kind: 'day', window: ['2026-05-05 00:00', '2026-05-06 00:00'], explicit: true },
  {
    q: 'errors 2026-11-27 08:00-09:00',
    kind: 'range',
    window: ['2026-11-27 08:00', '2026-11-27 09:00'],
    baseline: ['2026-11-27 06:55', '2026-11-27 07:55'],
    explicit: true,
  },
  {
    q: 'from 2026-11-26T23:00Z to 2026-11-27T01:00Z',
    kind: 'range',
    window: ['2026-11-26 23:00', '2026-11-27 01:00'],
    baseline: ['2026-11-26 21:55', '2026-11-26 22:55'],
    explicit: true,
  },
  // the date after a range that crosses midnight dates its end
  {
    q: 'from 23:00 to 01:00 on 2026-11-27',
    kind: 'range',
    window: ['2026-11-26 23:00', '2026-11-27 01:00'],
    baseline: ['2026-11-26 21:55', '2026-11-26 22:55'],
    explicit: true,
  },
  // after "broke", a day is that day; after "started", it runs to now
  { q: 'what broke on Monday', kind: 'day', window: ['2026-11-23 00:00', '2026-11-24 00:00'], explicit: true },
  { q: 'it started on Monday', kind: 'since', window: ['2026-11-23 00:00', '2026-11-27 10:00'], explicit: true },
  { q: 'from 2026-11-20 to 2026-11-22', kind: 'range', window: ['2026-11-20 00:00', '2026-11-23 00:00'], explicit: true },

  // days in words
  { q: 'errors yesterday', kind: 'day', window: ['2026-11-26 00:00', '2026-11-27 00:00'], explicit: true },
  {
    q: 'yesterday at 14:00',
    kind: 'point',
    window: ['2026-11-26 13:55', '2026-11-26 14:15'],
    start: '2026-11-26 14:00',
    baseline: ['2026-11-26 12:55', '2026-11-26 13:55'],
    explicit: true,
  },
  { q: 'any deploys today?', kind: 'day', window: ['2026-11-27 00:00', '2026-11-27 10:00'], explicit: true, clipped: true },
  { q: 'this morning', kind: 'part', window: ['2026-11-27 06:00', '2026-11-27 10:00'], explicit: true, clipped: true },
  { q: 'this afternoon', kind: 'part', window: ['2026-11-27 12:00', '2026-11-27 18:00'], explicit: true, future: true },
  { q: 'what broke last night', kind: 'part', window: ['2026-11-26 18:00', '2026-11-27 06:00'], explicit: true },
  { q: 'yesterday evening', kind: 'part', window: ['2026-11-26 18:00', '2026-11-27 00:00'], explicit: true },
  { q: 'last Monday', kind: 'day', window: ['2026-11-23 00:00', '2026-11-24 00:00'], explicit: true },
  { q: 'on Monday', kind: 'day', window: ['2026-11-23 00:00', '2026-11-24 00:00'], explicit: true },
  // today is a Friday: "on Friday" is today, "last Friday" a week ago
  { q: 'on Friday', kind: 'day', window: ['2026-11-27 00:00', '2026-11-27 10:00'], explicit: true, clipped: true },
  { q: 'last Friday', kind: 'day', window: ['2026-11-20 00:00', '2026-11-21 00:00'], explicit: true },
  { q: 'errors 2 days ago', kind: 'day', window: ['2026-11-25 00:00', '2026-11-26 00:00'], explicit: true },
  { q: 'since yesterday', kind: 'since', window: ['2026-11-26 00:00', '2026-11-27 10:00'], explicit: true },
  { q: 'errors since midnight', kind: 'since', window: ['2026-11-27 00:00', '2026-11-27 10:00'], matched: 'since midnight' },
  {
    q: 'started 30 minutes ago',
    kind: 'point',
    window: ['2026-11-27 09:25', '2026-11-27 09:45'],
    start: '2026-11-27 09:30',
    baseline: ['2026-11-27 08:25', '2026-11-27 09:25'],
  },

  // incident starts
  {
    q: 'an incident started at 05:11',
    kind: 'point',
    window: ['2026-11-27 05:06', '2026-11-27 05:26'],
    start: '2026-11-27 05:11',
    baseline: ['2026-11-27 04:06', '2026-11-27 05:06'],
    matched: 'started at 05:11',
  },
  {
    q: 'it began around 05:11 yesterday',
    kind: 'point',
    window: ['2026-11-26 05:06', '2026-11-26 05:26'],
    start: '2026-11-26 05:11',
    baseline: ['2026-11-26 04:06', '2026-11-26 05:06'],
    explicit: true,
  },
  // the moment said to be the start wins over another clock time
  {
    q: 'we deployed at 05:00 and the incident started at 05:18',
    kind: 'point',
    window: ['2026-11-27 05:13', '2026-11-27 05:33'],
    start: '2026-11-27 05:18',
    baseline: ['2026-11-27 04:13', '2026-11-27 05:13'],
  },
  // just started: the window reaches back 10 minutes, the baseline ends where it starts
  {
    q: 'an incident started at 09:58',
    kind: 'point',
    window: ['2026-11-27 09:50', '2026-11-27 10:00'],
    start: '2026-11-27 09:58',
    baseline: ['2026-11-27 08:50', '2026-11-27 09:50'],
    clipped: true,
  },

  // zones
  {
    q: 'it began at 9:30 CET',
    kind: 'point',
    window: ['2026-11-27 08:25', '2026-11-27 08:45'],
    start: '2026-11-27 08:30',
    baseline: ['2026-11-27 07:25', '2026-11-27 08:25'],
    inZone: 'CET',
  },
  {
    q: 'at 9am PST',
    kind: 'point',
    window: ['2026-11-26 16:55', '2026-11-26 17:15'],
    start: '2026-11-26 17:00',
    baseline: ['2026-11-26 15:55', '2026-11-26 16:55'],
    inZone: 'PST',
  },
  {
    q: 'at 11:00 UTC+2',
    kind: 'point',
    window: ['2026-11-27 08:55', '2026-11-27 09:15'],
    start: '2026-11-27 09:00',
    baseline: ['2026-11-27 07:55', '2026-11-27 08:55'],
    inZone: 'UTC+02:00',
  },
  {
    q: 'at 8 GMT-5',
    kind: 'point',
    window: ['2026-11-26 12:55', '2026-11-26 13:15'],
    start: '2026-11-26 13:00',
    baseline: ['2026-11-26 11:55', '2026-11-26 12:55'],
    inZone: 'UTC-05:00',
  },
  // summer time: 14:00 in Berlin is 12:00 UTC in July
  {
    q: 'at 13:00 Europe/Berlin',
    now: '2026-07-15 12:00',
    kind: 'point',
    window: ['2026-07-15 10:55', '2026-07-15 11:15'],
    start: '2026-07-15 11:00',
    baseline: ['2026-07-15 09:55', '2026-07-15 10:55'],
    inZone: 'Europe/Berlin',
  },
  // the caller's zone when the question names none
  {
    q: 'at 10:00',
    zone: 'Europe/Berlin',
    kind: 'point',
    window: ['2026-11-27 08:55', '2026-11-27 09:15'],
    start: '2026-11-27 09:00',
    baseline: ['2026-11-27 07:55', '2026-11-27 08:55'],
    inZone: 'Europe/Berlin',
  },
  {
    q: 'today',
    zone: 'Asia/Tokyo',
    kind: 'day',
    window: ['2026-11-26 15:00', '2026-11-27 10:00'],
    inZone: 'Asia/Tokyo',
    explicit: true,
    clipped: true,
  },

  // the future: kept as asked, flagged
  {
    q: 'at 2026-11-27T14:00:00Z',
    kind: 'point',
    window: ['2026-11-27 13:55', '2026-11-27 14:15'],
    start: '2026-11-27 14:00',
    explicit: true,
    future: true,
  },
  { q: 'what about tomorrow', kind: 'day', window: ['2026-11-28 00:00', '2026-11-29 00:00'], explicit: true, future: true },
  { q: 'in the next 2 hours', kind: 'relative', window: ['2026-11-27 10:00', '2026-11-27 12:00'], future: true },
  { q: 'on 2027-01-05', kind: 'day', window: ['2027-01-05 00:00', '2027-01-06 00:00'], explicit: true, future: true },

  // near midnight, month ends, leap years, year ends
  {
    q: 'yesterday at 23:30',
    now: AFTER_MIDNIGHT,
    kind: 'point',
    window: ['2026-02-28 23:25', '2026-02-28 23:45'],
    start: '2026-02-28 23:30',
    baseline: ['2026-02-28 22:25', '2026-02-28 23:25'],
    explicit: true,
  },
  {
    q: 'at 23:30',
    now: AFTER_MIDNIGHT,
    kind: 'point',
    window: ['2026-02-28 23:25', '2026-02-28 23:45'],
    start: '2026-02-28 23:30',
    baseline: ['2026-02-28 22:25', '2026-02-28 23:25'],
  },
  {
    q: 'yesterday at 23:30 CET',
    now: AFTER_MIDNIGHT,
    kind: 'point',
    window: ['2026-02-28 22:25', '2026-02-28 22:45'],
    start: '2026-02-28 22:30',
    baseline: ['2026-02-28 21:25', '2026-02-28 22:25'],
    inZone: 'CET',
    explicit: true,
  },
  { q: 'yesterday', now: AFTER_MIDNIGHT, kind: 'day', window: ['2026-02-28 00:00', '2026-03-01 00:00'], explicit: true },
  { q: 'yesterday', now: '2028-03-01 08:00', kind: 'day', window: ['2028-02-29 00:00', '2028-03-01 00:00'], explicit: true },
  {
    q: 'on 29 Feb',
    now: '2026-03-10 12:00',
    kind: 'day',
    window: ['2024-02-29 00:00', '2024-03-01 00:00'],
    explicit: true,
    note: /2024-02-29/,
  },
  { q: 'on 2024-02-29', kind: 'day', window: ['2024-02-29 00:00', '2024-03-01 00:00'], explicit: true },
  { q: 'on 31 Oct', kind: 'day', window: ['2026-10-31 00:00', '2026-11-01 00:00'], explicit: true },
  {
    q: 'Dec 31 at 23:50',
    now: '2027-01-01 00:30',
    kind: 'point',
    window: ['2026-12-31 23:45', '2027-01-01 00:05'],
    start: '2026-12-31 23:50',
    baseline: ['2026-12-31 22:45', '2026-12-31 23:45'],
    explicit: true,
  },
  {
    q: 'last night',
    now: '2026-11-27 02:00',
    kind: 'part',
    window: ['2026-11-26 18:00', '2026-11-27 02:00'],
    explicit: true,
    clipped: true,
  },
  { q: 'tonight', now: '2026-11-27 02:00', kind: 'part', window: ['2026-11-26 18:00', '2026-11-27 02:00'], explicit: true, clipped: true },
];

describe('parseTime', () => {
  it('has a table of at least 40 expressions', () => {
    expect(rows.length).toBeGreaterThanOrEqual(40);
  });

  it.each(rows)('$q', (row) => {
    const now = z(row.now ?? NOW);
    const r = parseTime(row.q, now, row.zone ? { zone: row.zone } : {});
    expect(r).toBeDefined();
    if (!r) return;
    expect({
      kind: r.kind,
      window: r.window,
      incidentStart: r.incidentStart,
      baseline: r.baseline,
      zone: r.zone,
      explicit: r.explicit,
      future: r.future,
      clipped: r.clipped,
    }).toEqual({
      kind: row.kind,
      window: { from: z(row.window[0]), to: z(row.window[1]) },
      incidentStart: row.start ? z(row.start) : undefined,
      baseline: row.baseline ? { from: z(row.baseline[0]), to: z(row.baseline[1]) } : undefined,
      zone: row.inZone ?? 'UTC',
      explicit: row.explicit ?? false,
      future: row.future ?? false,
      clipped: row.clipped ?? false,
    });
    if (row.matched) expect(r.matched).toBe(row.matched);
    if (row.note) expect(r.notes.join('\n')).toMatch(row.note);
    // Whatever the form, a baseline ends before the moment and before the window.
    if (r.baseline) {
      expect(r.baseline.to).toBeLessThanOrEqual(r.window.from);
      if (r.incidentStart !== undefined) expect(r.baseline.to).toBeLessThan(r.incidentStart);
    }
  });

  it.each([
    'show me the slowest endpoints',
    'top 5 endpoints',
    'after 9 pods restarted',
    'send 1/2 of the traffic',
    'on 31 Nov',
    'on 2026-02-29',
    'p95 is 5.18 ms',
    'errors at 5 may be retries',
    'scale cart to 4 and raise payment memory limit to 64Gi',
    'scale cart to 4',
    'roll payment back to 1.0.0',
    'cut the replicas by 2',
    'up to 4 pods',
  ])('finds no time in "%s"', (q) => {
    expect(parseTime(q, z(NOW))).toBeUndefined();
  });

  it('is deterministic and does not read the clock', () => {
    const a = parseTime('an incident started at 05:11', z(NOW));
    const b = parseTime('an incident started at 05:11', z(NOW));
    expect(a).toEqual(b);
    expect(parseTime('an incident started at 05:11', z('2026-11-28 10:00'))?.incidentStart).toBe(z('2026-11-28 05:11'));
  });

  it('says how the zone abbreviation was read when it is ambiguous', () => {
    const r = parseTime('at 14:00 IST', z(NOW));
    expect(r?.incidentStart).toBe(z('2026-11-27 08:30'));
    expect(r?.notes.join('\n')).toMatch(/India Standard Time/);
  });

  it('describes the window in the zone it was read in', () => {
    expect(parseTime('the incident at 05:18 UTC on 2022-08-22', z(NOW))?.describe.text).toBe('05:13–05:33 UTC on 2022-08-22');
    expect(parseTime('it began at 9:30 CET', z(NOW))?.describe.text).toBe('09:25–09:45 CET');
  });
});

describe('describeWindow', () => {
  const now = z(NOW);
  it.each([
    { window: ['2026-11-27 09:00', '2026-11-27 09:30'], zone: undefined, text: '09:00–09:30 UTC' },
    { window: ['2022-08-22 05:06', '2022-08-22 05:33'], zone: 'UTC', text: '05:06–05:33 UTC on 2022-08-22' },
    { window: ['2026-11-26 00:00', '2026-11-27 00:00'], zone: 'UTC', text: '00:00–24:00 UTC on 2026-11-26' },
    { window: ['2026-11-26 23:30', '2026-11-27 00:15'], zone: 'UTC', text: '2026-11-26 23:30 – 2026-11-27 00:15 UTC' },
    { window: ['2026-11-27 08:00', '2026-11-27 08:30'], zone: 'Europe/Berlin', text: '09:00–09:30 Europe/Berlin' },
    { window: ['2026-11-27 08:00', '2026-11-27 08:30'], zone: 'UTC+2', text: '10:00–10:30 UTC+02:00' },
    { window: ['2026-11-26 17:00', '2026-11-26 17:20'], zone: 'PST', text: '09:00–09:20 PST on 2026-11-26' },
    { window: ['2026-07-15 12:00', '2026-07-15 12:30'], zone: 'Europe/Berlin', text: '14:00–14:30 Europe/Berlin on 2026-07-15' },
    { window: ['2026-11-27 08:00', '2026-11-27 08:30'], zone: 'Not/AZone', text: '08:00–08:30 UTC' },
  ])('$text', ({ window, zone, text }) => {
    expect(describeWindow({ from: z(window[0]!), to: z(window[1]!) }, now, zone)).toBe(text);
  });

  it('calls a day "today" by the zone, not by UTC', () => {
    // 23:00 UTC on the 27th is already the 28th in Berlin, where it is now 00:30.
    const late = z('2026-11-27 23:30');
    expect(describeWindow({ from: z('2026-11-27 23:00'), to: z('2026-11-27 23:15') }, late, 'Europe/Berlin')).toBe(
      '00:00–00:15 Europe/Berlin',
    );
    expect(describeWindow({ from: z('2026-11-27 23:00'), to: z('2026-11-27 23:15') }, late, 'UTC')).toBe('23:00–23:15 UTC');
  });
});
