/**
 * The time a question is about, read from its words: relative windows ("last
 * 2 hours"), clock times ("at 14:00", "2pm"), dates ("on 27 Nov",
 * "2026-11-27"), parts of a day ("this morning"), and the moment an incident
 * started. Pure and deterministic: the same text and `now` give the same
 * reading.
 *
 * Decisions where people are vague:
 * - Clock times without a date are the most recent past occurrence: today, or
 *   yesterday when today's has not come yet (5 minutes of tolerance).
 * - Dates without a year are the most recent past occurrence of that day.
 * - "27/11" is day/month (as in most of the world and in ISO order of
 *   significance); "11/27" is read month/day only because 27 cannot be a
 *   month; "05/11" is read day/month and flagged ambiguous in `notes`. A
 *   numeric date without a year needs a word before it ("on 27/11", "since
 *   27/11") so that fractions like "1/2" are not read as dates. "27.11.2026"
 *   needs its year.
 * - A moment ("at T", "started at T", "30 minutes ago") is looked at from 5
 *   minutes before T to 15 minutes after T (never past now, at least 10
 *   minutes long); its baseline is the hour that ends where the window starts,
 *   so it ends before T. "since T" runs to now with the same baseline.
 * - A standalone "-hh:mm" after a clock is a range end ("14:00-14:30"), never
 *   an offset; negative offsets are written "UTC-5", "GMT-05:00" or inside
 *   an ISO timestamp.
 * - Future times are kept as asked and flagged `future`; "in 5 minutes" is
 *   not read as future (it is usually a duration), "next 2 hours",
 *   "tomorrow" and future dates are.
 * - Parts of the day: morning 06–12, afternoon 12–18, evening 18–24, night
 *   18–06 of the next day.
 */

import {
  addDays,
  type CalendarDate,
  DAY,
  dayStart,
  fromWall,
  HOUR,
  isoDate,
  isValidDate,
  MIN,
  resolveZone,
  sameDate,
  toWall,
  UTC,
  type Zone,
  ABBREVIATION_NAMES,
  REGION_NAMES,
} from './zone.ts';

export { resolveZone } from './zone.ts';

export interface TimeWindow {
  from: number;
  to: number;
}

/**
 * relative: "last 2 hours"; point: a moment ("at 14:00", "started at 05:11");
 * since: from a moment or a day until now; until: the hour up to a moment;
 * range: two ends; day: whole days; part: part of a day.
 */
export type TimeKind = 'relative' | 'point' | 'since' | 'until' | 'range' | 'day' | 'part';

export interface TimeReading {
  kind: TimeKind;
  window: TimeWindow;
  /** The moment something started: set for moments and "since <clock>". */
  incidentStart?: number;
  /** A quiet period to compare against; it ends before the window starts. */
  baseline?: TimeWindow;
  /** The text recognised (from its first to its last word). */
  matched: string;
  span: { start: number; end: number };
  /** The zone clock times were read in, and the zone to state them in. */
  zone: string;
  /** The question tied the time to a calendar day (a date, "yesterday", "on Monday", "this morning"). */
  explicit: boolean;
  /** The time asked about has not come yet; the window is kept as asked. */
  future: boolean;
  /** The window was cut at now. */
  clipped: boolean;
  /** How vague words were read ("05/11 read as 5 November"), for the answer to say. */
  notes: string[];
  /** Ready for the answer: "05:13–05:33 UTC on 2022-08-22". */
  describe: { window: TimeWindow; now: number; zone: string; text: string };
}

export interface TimeOptions {
  /** The zone for clock times when the question names none (a user's or workspace's setting); UTC by default. */
  zone?: string;
}

/** Around a moment: from LEAD before to TRAIL after; never shorter than MIN_WINDOW. */
const LEAD = 5 * MIN;
const TRAIL = 15 * MIN;
const MIN_WINDOW = 10 * MIN;
const BASELINE = HOUR;
/** A clock time this far ahead of now still means today (clocks drift, people round). */
const TOLERANCE = 5 * MIN;

// ---------------------------------------------------------------- pieces

type Meridiem = 'am' | 'pm';
type Part = 'morning' | 'afternoon' | 'evening' | 'night';

interface Span {
  s: number;
  e: number;
}
interface DatePiece extends Span {
  t: 'date';
  y?: number;
  mo: number;
  d: number;
  note?: string;
}
interface DayRelPiece extends Span {
  t: 'dayrel';
  days: number;
}
interface WeekdayPiece extends Span {
  t: 'weekday';
  dow: number;
  mode: 'last' | 'next' | 'plain';
}
interface ClockPiece extends Span {
  t: 'clock';
  h: number;
  mi: number;
  sec: number;
  mer?: Meridiem;
  word?: 'midnight' | 'noon';
  /** A bare hour ("after 9"): a time only in a time phrase, never "scale cart to 4". */
  bare?: boolean;
}
interface InstantPiece extends Span {
  t: 'instant';
  at: number;
}
interface ZonePiece extends Span {
  t: 'zone';
  zone: Zone;
}
interface PartPiece extends Span {
  t: 'part';
  part: Part;
  mode: 'this' | 'last' | 'tonight' | 'plain';
}
interface RelPiece extends Span {
  t: 'rel';
  ms: number;
  future: boolean;
}
type DateLevel = DatePiece | DayRelPiece | WeekdayPiece;
type Piece = DateLevel | ClockPiece | InstantPiece | ZonePiece | PartPiece | RelPiece;

const MONTHS: Record<string, number> = {
  jan: 1,
  feb: 2,
  mar: 3,
  apr: 4,
  may: 5,
  jun: 6,
  jul: 7,
  aug: 8,
  sep: 9,
  oct: 10,
  nov: 11,
  dec: 12,
};
const MONTH =
  '(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)';
const WEEKDAYS: Record<string, number> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };
const WEEKDAY = '(monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tues?|wed|thu(?:rs?)?|fri|sat|sun)';

const NUMBER_WORDS: Record<string, number> = {
  a: 1,
  an: 1,
  one: 1,
  two: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
  eight: 8,
  nine: 9,
  ten: 10,
  eleven: 11,
  twelve: 12,
  fifteen: 15,
  twenty: 20,
  thirty: 30,
  forty: 40,
  'forty-five': 45,
  fifty: 50,
  sixty: 60,
  ninety: 90,
  couple: 2,
  'couple of': 2,
  several: 5,
  half: 0.5,
  'half a': 0.5,
  'half an': 0.5,
};
const NUM =
  '(\\d+(?:\\.\\d+)?|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty(?:-five)?|fifty|sixty|ninety|few|couple(?:\\s+of)?|several|half(?:\\s+an?)?)';
const UNIT = '(seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|wks?|w|months?)';

function unitMs(unit: string): number {
  const u = unit.toLowerCase();
  if (u === 's' || u.startsWith('sec')) return 1000;
  if (u === 'm' || u.startsWith('min')) return MIN;
  if (u === 'h' || u.startsWith('h')) return HOUR;
  if (u === 'd' || u.startsWith('d')) return DAY;
  if (u === 'w' || u.startsWith('w')) return 7 * DAY;
  return 30 * DAY;
}

/** "few" depends on the unit: a few minutes of telemetry is 5, a few hours or days is 3. */
function count(word: string | undefined, unit: number): number {
  if (word === undefined) return 1;
  const w = word.toLowerCase().replace(/\s+/g, ' ');
  if (w === 'few') return unit <= MIN ? 5 : 3;
  const n = Number(w);
  if (Number.isFinite(n)) return n;
  return NUMBER_WORDS[w] ?? 1;
}

/** Where pieces of time are found, in order of precedence (a later pattern never overlaps an earlier find). */
interface Finder {
  re: RegExp;
  make(m: RegExpExecArray, text: string): Piece[];
}

const DATE_CONTEXT = /\b(?:on|since|from|until|till|to|between|and|before|after|of)\s+$/i;

function datePiece(s: number, e: number, y: number | undefined, mo: number, d: number, note?: string): DatePiece[] {
  // A date that cannot exist (31 Nov, 29 Feb 2026) is not a date.
  if (y !== undefined && !isValidDate(y, mo, d)) return [];
  if (y === undefined && !isValidDate(2024, mo, d)) return [];
  return [{ t: 'date', s, e, ...(y !== undefined ? { y } : {}), mo, d, ...(note ? { note } : {}) }];
}

function year(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const y = Number(raw);
  return raw.length === 2 ? 2000 + y : y;
}

function clockPiece(s: number, e: number, h: number, mi: number, sec: number, mer?: Meridiem): ClockPiece[] {
  if (mer) {
    if (h < 1 || h > 12) return [];
    h = (h % 12) + (mer === 'pm' ? 12 : 0);
  }
  if (h > 23 || mi > 59 || sec > 59) return [];
  return [{ t: 'clock', s, e, h, mi, sec, ...(mer ? { mer } : {}) }];
}

function offsetZone(s: number, e: number, raw: string): ZonePiece[] {
  const zone = resolveZone(raw === 'Z' || raw === 'z' ? 'UTC' : raw);
  return zone ? [{ t: 'zone', s, e, zone }] : [];
}

/**
 * "may" is also a verb ("errors at 5 may be retries", "it may 5x"): written in lower case it is a
 * month only with an ordinal, a year, or a date word before it ("on 5 may").
 */
function plainMay(month: string, m: RegExpExecArray, text: string): boolean {
  if (month !== 'may') return true;
  return /\d(?:st|nd|rd|th)|\d{4}/.test(m[0]) || DATE_CONTEXT.test(text.slice(0, m.index));
}

const FINDERS: Finder[] = [
  // ISO 8601: 2026-11-27T14:00:00Z, 2026-11-27T14:00+02:00, 2026-11-27 14:00
  {
    re: /\b(\d{4})-(\d{2})-(\d{2})(?:T|\s+)(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?(Z|[+-]\d{2}(?::?\d{2})?\b)?/gi,
    make(m) {
      const s = m.index;
      const date = datePiece(s, s + 10, Number(m[1]), Number(m[2]), Number(m[3]));
      if (!date.length) return [];
      const sep = m[0].slice(10).search(/\d/) + 10;
      const zoneRaw = m[7];
      // With a space instead of T, "-05:00" would be a range end; only Z or "+hh:mm" count as offsets then.
      const spaced = m[0][10] !== 'T' && m[0][10] !== 't';
      const useZone = zoneRaw && !(spaced && zoneRaw.startsWith('-'));
      const clockEnd = s + m[0].length - (zoneRaw?.length ?? 0);
      const clock = clockPiece(s + sep, clockEnd, Number(m[4]), Number(m[5]), Number(m[6] ?? 0));
      if (!clock.length) return date;
      const zone = useZone ? offsetZone(clockEnd, s + m[0].length, zoneRaw) : [];
      return [{ ...date[0]!, e: s + sep }, ...clock, ...zone];
    },
  },
  // 2026-11-27, 2026/11/27
  {
    re: /\b(\d{4})([-/])(\d{1,2})\2(\d{1,2})\b/g,
    make: (m) => datePiece(m.index, m.index + m[0].length, Number(m[1]), Number(m[3]), Number(m[4])),
  },
  // 27/11/2026, 27.11.2026, 27/11 (after a word like "on")
  {
    re: /\b(\d{1,2})([/.])(\d{1,2})(?:\2(\d{4}|\d{2}))?(?![\d/.]*\d)/g,
    make(m, text) {
      const [a, b] = [Number(m[1]), Number(m[3])];
      const y = year(m[4]);
      if (y === undefined && (m[2] === '.' || !DATE_CONTEXT.test(text.slice(0, m.index)))) return [];
      if (a > 12 && b <= 12) return datePiece(m.index, m.index + m[0].length, y, b, a);
      if (b > 12 && a <= 12) return datePiece(m.index, m.index + m[0].length, y, a, b, `${m[0]} read as month/day`);
      const note = a !== b ? `${m[0]} is ambiguous; read as day/month (${a} ${monthName(b)})` : undefined;
      return datePiece(m.index, m.index + m[0].length, y, b, a, note);
    },
  },
  // 27 Nov, 27th of November 2026
  {
    re: new RegExp(`\\b(\\d{1,2})(?:st|nd|rd|th)?(?:\\s+of)?\\s+${MONTH}\\b\\.?(?:,?\\s+(\\d{4})\\b)?`, 'gi'),
    make(m, text) {
      if (!plainMay(m[2]!, m, text)) return [];
      return datePiece(m.index, m.index + m[0].length, year(m[3]), MONTHS[m[2]!.slice(0, 3).toLowerCase()]!, Number(m[1]));
    },
  },
  // Nov 27, November 27th, 2026
  {
    re: new RegExp(`\\b${MONTH}\\.?\\s+(\\d{1,2})(?:st|nd|rd|th)?\\b(?!:)(?:,?\\s+(\\d{4})\\b)?`, 'gi'),
    make(m, text) {
      if (!plainMay(m[1]!, m, text)) return [];
      return datePiece(m.index, m.index + m[0].length, year(m[3]), MONTHS[m[1]!.slice(0, 3).toLowerCase()]!, Number(m[2]));
    },
  },
  // last 2 hours, the past day, over the last 90 minutes, last few minutes, this hour
  {
    re: new RegExp(
      `\\b(?:(?:in|over|during|for|within|from)\\s+)?(?:the\\s+)?(?:last|past|previous|recent|preceding|trailing)\\s+(?:${NUM}\\s*)?${UNIT}\\b(?!\\s+ago)`,
      'gi',
    ),
    make(m) {
      const unit = unitMs(m[2]!);
      return [{ t: 'rel', s: m.index, e: m.index + m[0].length, ms: count(m[1], unit) * unit, future: false }];
    },
  },
  { re: /\bthis\s+hour\b/gi, make: (m) => [{ t: 'rel', s: m.index, e: m.index + m[0].length, ms: HOUR, future: false }] },
  // for 2 hours, over 30 minutes (a duration up to now)
  {
    re: new RegExp(`\\b(?:for|over|during)\\s+(?:the\\s+)?${NUM}\\s*${UNIT}\\b(?!\\s+ago)`, 'gi'),
    make(m) {
      const unit = unitMs(m[2]!);
      return [{ t: 'rel', s: m.index, e: m.index + m[0].length, ms: count(m[1], unit) * unit, future: false }];
    },
  },
  // the next 2 hours
  {
    re: new RegExp(`\\b(?:(?:in|over|for|during)\\s+)?(?:the\\s+)?next\\s+(?:${NUM}\\s*)?${UNIT}\\b`, 'gi'),
    make(m) {
      const unit = unitMs(m[2]!);
      return [{ t: 'rel', s: m.index, e: m.index + m[0].length, ms: count(m[1], unit) * unit, future: true }];
    },
  },
  // 30 minutes ago (a moment), 2 days ago (a day)
  {
    re: new RegExp(`\\b(?:a\\s+)?${NUM}\\s*${UNIT}\\s+ago\\b`, 'gi'),
    make(m) {
      const unit = unitMs(m[2]!);
      const n = count(m[1], unit);
      if (unit >= DAY) return [{ t: 'dayrel', s: m.index, e: m.index + m[0].length, days: -Math.round((n * unit) / DAY) }];
      return [{ t: 'instant', s: m.index, e: m.index + m[0].length, at: -n * unit }];
    },
  },
  {
    re: /\b(the\s+day\s+before\s+yesterday|yesterday|today|tomorrow)\b/gi,
    make(m) {
      const w = m[1]!.toLowerCase();
      const days = w === 'today' ? 0 : w === 'tomorrow' ? 1 : w === 'yesterday' ? -1 : -2;
      return [{ t: 'dayrel', s: m.index, e: m.index + m[0].length, days }];
    },
  },
  {
    re: new RegExp(`\\b(?:(last|this|past|on|next)\\s+)?${WEEKDAY}\\b`, 'gi'),
    make(m) {
      const name = m[2]!.toLowerCase();
      // Short forms ("sat", "sun", "wed") are also words; they need a word before them.
      if (name.length <= 4 && name !== 'thur' && !m[1]) return [];
      const prefix = m[1]?.toLowerCase();
      const mode = prefix === 'last' || prefix === 'past' ? 'last' : prefix === 'next' ? 'next' : 'plain';
      return [{ t: 'weekday', s: m.index, e: m.index + m[0].length, dow: WEEKDAYS[name.slice(0, 3)]!, mode }];
    },
  },
  {
    re: /\b(?:(this|last)\s+)?(morning|afternoon|evening|night)\b|\b(tonight|overnight)\b/gi,
    make(m) {
      const s = m.index;
      const e = m.index + m[0].length;
      if (m[3]) {
        const w = m[3].toLowerCase();
        return [{ t: 'part', s, e, part: 'night', mode: w === 'tonight' ? 'tonight' : 'plain' }];
      }
      const mode = (m[1]?.toLowerCase() as 'this' | 'last' | undefined) ?? 'plain';
      return [{ t: 'part', s, e, part: m[2]!.toLowerCase() as Part, mode }];
    },
  },
  // UTC+2, GMT-05:00
  {
    re: /\b(?:UTC|GMT)\s*[+\-\u2212]\s*\d{1,2}(?::?\d{2})?\b/gi,
    make: (m) => offsetZone(m.index, m.index + m[0].length, m[0].replace(/\s+/g, '')),
  },
  // +02:00 right after a clock time
  {
    re: /(?<=\d(?:\s?[ap]\.?m\.?)?)\s?\+\d{2}:?\d{2}\b/gi,
    make: (m) => offsetZone(m.index, m.index + m[0].length, m[0].trim()),
  },
  // 14:00Z
  { re: /(?<=\d)Z\b/g, make: (m) => offsetZone(m.index, m.index + 1, 'UTC') },
  // Europe/Berlin, America/New_York
  {
    re: /\b[A-Za-z]+(?:[_-][A-Za-z]+)*\/[A-Za-z]+(?:[_-][A-Za-z]+)*(?:\/[A-Za-z]+(?:[_-][A-Za-z]+)*)?\b/g,
    make(m) {
      const zone = resolveZone(m[0]);
      return zone ? [{ t: 'zone', s: m.index, e: m.index + m[0].length, zone }] : [];
    },
  },
  // UTC, CET, PST, PT: upper case anywhere, or any case right after a clock time ("2pm cet").
  {
    re: /\b(utc|gmt|zulu|[a-z]{2,4})\b/gi,
    make(m, text) {
      const word = m[1]!;
      const upper = word.toUpperCase();
      const known = upper === 'UTC' || upper === 'GMT' || upper === 'ZULU' || /^[A-Z]{2,4}$/.test(upper);
      if (!known) return [];
      const afterClock = /\d(?:\s?[ap]\.?m\.?)?\s?$/i.test(text.slice(0, m.index));
      const alwaysZone = upper === 'UTC' || upper === 'GMT';
      if (!alwaysZone && word !== upper && !afterClock) return [];
      // Two-letter region names (PT, ET) only right after a clock: "ET" and "CT" are common otherwise.
      if (upper.length === 2 && !afterClock) return [];
      const zone = resolveZone(upper);
      return zone ? [{ t: 'zone', s: m.index, e: m.index + m[0].length, zone }] : [];
    },
  },
  // 14:00, 05:18:30, 2:30pm
  {
    re: /(?<![\d:.])(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s?([ap])\.?m\.?(?![a-z]))?(?![\d:])/gi,
    make(m) {
      const mer = m[4] ? ((m[4].toLowerCase() === 'a' ? 'am' : 'pm') as Meridiem) : undefined;
      return clockPiece(m.index, m.index + m[0].length, Number(m[1]), Number(m[2]), Number(m[3] ?? 0), mer);
    },
  },
  // 2pm, 2 p.m., 2.30pm
  {
    re: /(?<![\d:.])(\d{1,2})(?:\.(\d{2}))?\s?([ap])\.?m\.?(?![a-z])/gi,
    make(m) {
      const mer = (m[3]!.toLowerCase() === 'a' ? 'am' : 'pm') as Meridiem;
      return clockPiece(m.index, m.index + m[0].length, Number(m[1]), Number(m[2] ?? 0), 0, mer);
    },
  },
  {
    re: /\b(midnight|noon|midday)\b/gi,
    make(m) {
      const word = m[1]!.toLowerCase() === 'midnight' ? 'midnight' : 'noon';
      return [{ t: 'clock', s: m.index, e: m.index + m[0].length, h: word === 'noon' ? 12 : 0, mi: 0, sec: 0, word }];
    },
  },
  // A bare hour after a time word: "after 9", "at 14 UTC", "between 9 and 10". It must be followed by
  // an end, a zone or a time word, so that "to 5 pods" or "at 5 errors" stay numbers.
  {
    re: new RegExp(
      `(?<=\\b(?:at|after|since|around|about|from|until|till|to|before|by|and|between|approximately|roughly)\\s+~?)(\\d{1,2})(?!\\.\\d)(?=\\s*(?:$|[?.!,;)]|o'?clock\\b|(?:${[...ABBREVIATION_NAMES, ...REGION_NAMES].join('|')})\\b|(?:on|yesterday|today|this|last|and|to|till|until|in|when|sharp|or|but|the|local)\\b))`,
      'gi',
    ),
    make: (m) => clockPiece(m.index, m.index + m[0].length, Number(m[1]), 0, 0).map((p) => ({ ...p, bare: true })),
  },
];

/** Words before a bare hour that make it a time only as the end of a range ("from 9 to 10", "between 9 and 10"). */
const RANGE_END_WORD = /\b(?:to|and|by)\s+~?$/i;

function monthName(mo: number): string {
  return ['', 'January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'][
    mo
  ]!;
}

function findPieces(text: string): Piece[] {
  const pieces: Piece[] = [];
  const overlaps = (s: number, e: number) => pieces.some((p) => s < p.e && p.s < e);
  for (const f of FINDERS) {
    f.re.lastIndex = 0;
    for (const m of text.matchAll(f.re)) {
      const found = f.make(m as RegExpExecArray, text);
      if (!found.length) continue;
      const s = Math.min(...found.map((p) => p.s));
      const e = Math.max(...found.map((p) => p.e));
      if (overlaps(s, e)) continue;
      pieces.push(...found);
    }
  }
  pieces.sort((a, b) => a.s - b.s);
  // "to 4", "and 5", "by 3" are quantities ("scale cart to 4") unless they end a range that started with a time.
  return pieces.filter((p, i) => {
    if (p.t !== 'clock' || !p.bare || !RANGE_END_WORD.test(text.slice(Math.max(0, p.s - 6), p.s))) return true;
    const before = pieces[i - 1];
    return before !== undefined && before.t === 'clock' && p.s - before.e <= 12;
  });
}

// ---------------------------------------------------------------- groups

/** Pieces next to each other that name one time: "05:18 UTC on 2022-08-22", "yesterday at 14:00". */
interface Group extends Span {
  date?: DateLevel;
  clock?: ClockPiece | InstantPiece;
  zone?: ZonePiece;
  part?: PartPiece;
  rel?: RelPiece;
}

const CONNECT = /^[\s,]*(?:(?:on|at|of|the|in|around|about)\b[\s,]*)*$/i;

function groupPieces(text: string, pieces: Piece[]): Group[] {
  const groups: Group[] = [];
  for (const p of pieces) {
    const g = groups.at(-1);
    const joins = g && !g.rel && p.t !== 'rel' && CONNECT.test(text.slice(g.e, p.s)) && slotFree(g, p);
    const target: Group = joins ? g : { s: p.s, e: p.e };
    if (!joins) groups.push(target);
    target.e = Math.max(target.e, p.e);
    if (p.t === 'date' || p.t === 'dayrel' || p.t === 'weekday') {
      // "Mon 22 Aug 2022": the date says more than the weekday.
      if (!target.date || (target.date.t === 'weekday' && p.t === 'date')) target.date = p;
    } else if (p.t === 'clock' || p.t === 'instant') target.clock = p;
    else if (p.t === 'zone') target.zone = p;
    else if (p.t === 'part') target.part = p;
    else target.rel = p;
  }
  return groups;
}

function slotFree(g: Group, p: Piece): boolean {
  switch (p.t) {
    case 'date':
      return !g.date || g.date.t === 'weekday';
    case 'dayrel':
      return !g.date;
    case 'weekday':
      return !g.date || g.date.t === 'date';
    case 'clock':
    case 'instant':
      return !g.clock && !g.part;
    case 'zone':
      return !g.zone;
    case 'part':
      return !g.part && !g.clock;
    default:
      return false;
  }
}

// ---------------------------------------------------------------- markers

/** Words before a time that say how it is meant. */
const MARKERS: { kind: Exclude<MarkerKind, 'point'>; re: RegExp }[] = [
  {
    kind: 'since',
    re: /\b(?:since|after|as\s+of|starting\s+from|from)\s+(?:about\s+|around\s+|roughly\s+|approximately\s+|~\s*)?$/i,
  },
  {
    kind: 'start',
    re: /\b(?:start(?:ed|s|ing)?|began|begun|begins|beginning|kicked\s+off)(?:\s+(?:at|around|about|on|near|roughly|approximately|shortly\s+after|just\s+after|right\s+after|~))*\s*~?\s*$/i,
  },
  { kind: 'until', re: /\b(?:before|until|till|up\s+to|by)\s+(?:about\s+|around\s+)?$/i },
  // "the incident at 05:18", "it broke at 05:18": a moment, preferred over other clock times of the question;
  // unlike a start, a day after these words is just that day ("what broke on Monday").
  {
    kind: 'incident',
    re: /\b(?:(?:incident|outage|failure|spike|alert|problem)\s+(?:at|around|about|on)|(?:broke|went\s+down|first\s+(?:seen|noticed|appeared|reported))(?:\s+(?:at|around|about|on))?)\s+$/i,
  },
];
/** Words that only say "at this time"; the span covers them. */
const POINT_WORD = /\b(?:at|around|about|approximately|roughly|near|on|during|~)\s*$/i;

type MarkerKind = 'start' | 'incident' | 'since' | 'until' | 'point';

function marker(text: string, at: number): { kind: MarkerKind; s: number } {
  const before = text.slice(Math.max(0, at - 60), at);
  const offset = Math.max(0, at - 60);
  for (const m of MARKERS) {
    const found = m.re.exec(before);
    if (found) return { kind: m.kind, s: offset + found.index };
  }
  const point = POINT_WORD.exec(before);
  return { kind: 'point', s: point ? offset + point.index : at };
}

// ---------------------------------------------------------------- resolving

interface Ctx {
  now: number;
  text: string;
  /** The zone named anywhere in the question, else the caller's, else UTC. */
  zone: Zone;
  notes: string[];
}

function zoneOf(g: Group | undefined, ctx: Ctx): Zone {
  return g?.zone?.zone ?? ctx.zone;
}

function todayIn(zone: Zone, now: number): CalendarDate {
  const w = toWall(now, zone);
  return { y: w.y, mo: w.mo, d: w.d };
}

/** The calendar day a date-level piece names, seen from now in a zone. */
function resolveDate(p: DateLevel, zone: Zone, ctx: Ctx): CalendarDate | undefined {
  const today = todayIn(zone, ctx.now);
  if (p.t === 'dayrel') return addDays(today, p.days);
  if (p.t === 'weekday') {
    const dow = toWall(ctx.now, zone).dow;
    if (p.mode === 'next') return addDays(today, (p.dow - dow + 7) % 7 || 7);
    const back = (dow - p.dow + 7) % 7;
    return addDays(today, -(p.mode === 'last' ? back || 7 : back));
  }
  if (p.note) ctx.notes.push(p.note);
  if (p.y !== undefined) return { y: p.y, mo: p.mo, d: p.d };
  // No year: the most recent past occurrence (29 Feb goes back to the last leap year).
  for (let y = today.y; y >= today.y - 8; y--) {
    if (!isValidDate(y, p.mo, p.d)) continue;
    const date = { y, mo: p.mo, d: p.d };
    if (dayStart(date, zone) <= ctx.now) {
      if (y !== today.y) ctx.notes.push(`no year given; read as ${isoDate(date)}, the most recent past ${p.d} ${monthName(p.mo)}`);
      return date;
    }
  }
  return undefined;
}

/** A clock time on a day; without a day, the most recent past occurrence. */
function resolveClock(c: ClockPiece, date: CalendarDate | undefined, zone: Zone, ctx: Ctx): number {
  if (date) return fromWall(date, c.h, c.mi, c.sec, zone);
  const today = todayIn(zone, ctx.now);
  const t = fromWall(today, c.h, c.mi, c.sec, zone);
  if (t <= ctx.now + TOLERANCE) return t;
  ctx.notes.push(`${hhmm(c.h, c.mi)} has not come yet today; read as yesterday`);
  return fromWall(addDays(today, -1), c.h, c.mi, c.sec, zone);
}

function hhmm(h: number, mi: number): string {
  return `${String(h).padStart(2, '0')}:${String(mi).padStart(2, '0')}`;
}

const PARTS: Record<Part, [number, number]> = { morning: [6, 12], afternoon: [12, 18], evening: [18, 24], night: [18, 30] };

function partWindow(part: Part, date: CalendarDate, zone: Zone): TimeWindow {
  const [a, b] = PARTS[part];
  const from = fromWall(date, a, 0, 0, zone);
  const endDate = b >= 24 ? addDays(date, 1) : date;
  return { from, to: fromWall(endDate, b % 24, 0, 0, zone) };
}

interface Draft {
  kind: TimeKind;
  window: TimeWindow;
  incidentStart?: number;
  /** The moment the baseline must end before. */
  anchor?: number;
  zone: Zone;
  explicit: boolean;
  future: boolean;
  /** Already cut at now. */
  clipped?: boolean;
  s: number;
  e: number;
}

/** A moment T: a few minutes before to a quarter of an hour after, or to now for "since". */
function aroundMoment(t: number, kind: 'point' | 'since', ctx: Ctx): { window: TimeWindow; future: boolean; clipped: boolean } {
  const future = t > ctx.now + TOLERANCE;
  if (future) return { window: { from: t - LEAD, to: t + TRAIL }, future, clipped: false };
  const clipped = kind === 'point' && t + TRAIL > ctx.now;
  const to = kind === 'since' ? ctx.now : Math.min(t + TRAIL, ctx.now);
  return { window: { from: Math.min(t - LEAD, to - MIN_WINDOW), to }, future, clipped };
}

function fromGroup(g: Group, ctx: Ctx, standaloneDate: Group | undefined): Draft | undefined {
  const zone = zoneOf(g, ctx);
  const m = marker(ctx.text, g.s);
  const s = Math.min(m.s, g.s);
  const dateGroup = g.date ? g : g.clock || g.part ? standaloneDate : undefined;
  const date = dateGroup?.date ? resolveDate(dateGroup.date, zone, ctx) : undefined;
  if (dateGroup?.date && !date) return undefined;
  const explicit = Boolean(dateGroup?.date);
  const e = Math.max(g.e, dateGroup && dateGroup !== g ? dateGroup.e : 0);
  const start = Math.min(s, dateGroup && dateGroup !== g ? marker(ctx.text, dateGroup.s).s : s);

  if (g.clock) {
    const c = g.clock;
    const t = c.t === 'instant' ? ctx.now + c.at : resolveClock(c, date, zone, ctx);
    // "since midnight" is the day so far, not an incident that began at 00:00.
    if (c.t === 'clock' && c.word === 'midnight' && m.kind === 'since') {
      return { kind: 'since', window: { from: t, to: ctx.now }, zone, explicit, future: t > ctx.now, s: start, e };
    }
    if (m.kind === 'until') {
      return { kind: 'until', window: { from: t - HOUR, to: t }, zone, explicit, future: t > ctx.now + TOLERANCE, s: start, e };
    }
    const kind = m.kind === 'since' ? 'since' : 'point';
    const { window, future, clipped } = aroundMoment(t, kind, ctx);
    return { kind, window, incidentStart: t, anchor: t, zone, explicit, future, clipped, s: start, e };
  }

  if (g.part) {
    const p = g.part;
    const today = todayIn(zone, ctx.now);
    let day = date;
    if (!day) {
      if (p.mode === 'last') day = addDays(today, -1);
      else if (p.mode === 'tonight') day = toWall(ctx.now, zone).h < 6 ? addDays(today, -1) : today;
      else if (p.mode === 'this') day = today;
      else day = partWindow(p.part, today, zone).from <= ctx.now ? today : addDays(today, -1);
    }
    const w = partWindow(p.part, day, zone);
    const named = explicit || p.mode !== 'plain';
    if (m.kind === 'since') {
      return { kind: 'since', window: { from: w.from, to: ctx.now }, zone, explicit: named, future: w.from > ctx.now, s: start, e };
    }
    return { kind: 'part', window: w, zone, explicit: named, future: w.from > ctx.now, s: start, e };
  }

  if (g.date && date) {
    const from = dayStart(date, zone);
    if (m.kind === 'since' || m.kind === 'start') {
      return { kind: 'since', window: { from, to: ctx.now }, zone, explicit, future: from > ctx.now, s: start, e };
    }
    return {
      kind: 'day',
      window: { from, to: dayStart(addDays(date, 1), zone) },
      zone,
      explicit,
      future: from > ctx.now,
      s: start,
      e,
    };
  }

  if (g.rel) {
    const r = g.rel;
    const window = r.future ? { from: ctx.now, to: ctx.now + r.ms } : { from: ctx.now - r.ms, to: ctx.now };
    return { kind: 'relative', window, zone, explicit: false, future: r.future, s: g.s, e: g.e };
  }
  return undefined;
}

const RANGE_JOIN = /^\s*(-|–|—|to|until|till|and|through|thru)\s*$/i;

/** Two times joined: "from 14:00 to 14:30", "between 05:10 and 05:40 UTC", "14:00-14:30". */
function fromRange(a: Group, b: Group, ctx: Ctx, standaloneDate: Group | undefined): Draft | undefined {
  const join = RANGE_JOIN.exec(ctx.text.slice(a.e, b.s));
  if (!join) return undefined;
  const before = ctx.text.slice(Math.max(0, a.s - 20), a.s);
  const between = /\bbetween\s+$/i.test(before);
  const from = /\bfrom\s+$/i.test(before);
  const word = join[1]!.toLowerCase();
  if (word === 'and' && !between) return undefined;
  const clocks = a.clock?.t === 'clock' && b.clock?.t === 'clock';
  const dates = !a.clock && !b.clock && a.date && b.date && !a.part && !b.part;
  if (!clocks && !dates) return undefined;
  // Date-only ranges need "from" or "between": "compare yesterday to today" is not a range.
  if (dates && !between && !from) return undefined;

  const zone = b.zone?.zone ?? a.zone?.zone ?? ctx.zone;
  const shared = b.date ?? standaloneDate?.date;
  const usesStandalone = standaloneDate && !a.date && !b.date;
  const start = Math.min(
    between || from ? ctx.text.slice(0, a.s).search(/\b(?:between|from)\s+$/i) : a.s,
    usesStandalone ? marker(ctx.text, standaloneDate.s).s : a.s,
  );
  const e = Math.max(b.e, usesStandalone ? standaloneDate.e : 0);
  const explicit = Boolean(a.date || b.date || (standaloneDate && clocks));

  if (dates) {
    const d1 = resolveDate(a.date!, zone, ctx);
    const d2 = resolveDate(b.date!, zone, ctx);
    if (!d1 || !d2) return undefined;
    const window = { from: dayStart(d1, zone), to: dayStart(addDays(d2, 1), zone) };
    if (window.to <= window.from) return undefined;
    return { kind: 'range', window, zone, explicit, future: window.from > ctx.now, s: start, e };
  }

  const ca = a.clock as ClockPiece;
  const cb = b.clock as ClockPiece;
  // "between 1 and 2pm": the second end's pm carries over when it keeps the order.
  let first = ca;
  if (ca.mer === undefined && cb.mer === 'pm' && ca.h < 12 && ca.h + 12 <= cb.h) first = { ...ca, h: ca.h + 12 };
  const aDateLevel = a.date ?? shared;
  const aDate = aDateLevel ? resolveDate(aDateLevel, zone, ctx) : undefined;
  if (aDateLevel && !aDate) return undefined;
  let t1 = resolveClock(first, aDate, zone, ctx);
  // "from 23:00 to 01:00 on 27 Nov": the date belongs to the end, the start is the evening before.
  if (!a.date && b.date) {
    const end = fromWall(aDate!, cb.h, cb.mi, cb.sec, zone);
    if (end <= t1) t1 = fromWall(addDays(aDate!, -1), first.h, first.mi, first.sec, zone);
  }
  const w1 = toWall(t1, zone);
  const bDate = b.date ? resolveDate(b.date, zone, ctx) : { y: w1.y, mo: w1.mo, d: w1.d };
  if (!bDate) return undefined;
  let t2 = fromWall(bDate, cb.h, cb.mi, cb.sec, zone);
  // "from 23:30 to 00:15" crosses midnight.
  if (t2 <= t1 && !b.date) t2 = fromWall(addDays(bDate, 1), cb.h, cb.mi, cb.sec, zone);
  if (t2 <= t1) return undefined;
  return { kind: 'range', window: { from: t1, to: t2 }, anchor: t1, zone, explicit, future: t1 > ctx.now, s: start, e };
}

/**
 * The time a question names, if any. When it names several, a range wins,
 * then a moment (one said to be a start first), then a part of a day, then a
 * day, then a relative window.
 */
export function parseTime(text: string, now: number, opts: TimeOptions = {}): TimeReading | undefined {
  const pieces = findPieces(text);
  if (!pieces.length) return undefined;
  const groups = groupPieces(text, pieces);
  const fallback = opts.zone ? resolveZone(opts.zone) : undefined;
  const named = groups.find((g) => g.zone)?.zone?.zone;
  const ctx: Ctx = { now, text, zone: named ?? fallback ?? UTC, notes: [] };
  if (named?.note) ctx.notes.push(named.note);
  const timed = groups.filter((g) => g.date || g.clock || g.part || g.rel);
  // A date said apart from the clock time ("on 27 Nov, checkout failed at 14:00") still dates it.
  const dateOnly = timed.filter((g) => g.date && !g.clock && !g.part);
  const standaloneDate = dateOnly.length === 1 ? dateOnly[0] : undefined;

  let draft: Draft | undefined;
  for (let i = 0; i + 1 < timed.length && !draft; i++) {
    // A pair that turns out not to be a range leaves no notes behind.
    const notes = ctx.notes.length;
    draft = fromRange(timed[i]!, timed[i + 1]!, ctx, standaloneDate);
    if (!draft) ctx.notes.length = notes;
  }
  if (!draft) {
    const clocks = timed.filter((g) => g.clock);
    const kindOf = (g: Group) => marker(text, g.s).kind;
    const preferred =
      clocks.find((g) => kindOf(g) === 'start' || kindOf(g) === 'incident') ?? clocks.find((g) => kindOf(g) === 'since') ?? clocks[0];
    const order = [preferred, timed.find((g) => g.part), timed.find((g) => g.date), timed.find((g) => g.rel)];
    for (const g of order) {
      if (!g) continue;
      draft = fromGroup(g, ctx, standaloneDate);
      if (draft) break;
    }
  }
  if (!draft) return undefined;
  return finish(draft, ctx);
}

function finish(d: Draft, ctx: Ctx): TimeReading {
  let window = d.window;
  let clipped = d.clipped ?? false;
  if (!d.future && window.to > ctx.now) {
    window = { from: window.from, to: ctx.now };
    clipped = true;
  }
  // "from 14:00 to now": the words after the range belong to it.
  const tail = /^\s*(?:to|until|till)\s+now\b/i.exec(ctx.text.slice(d.e));
  const e = d.e + (tail ? tail[0].length : 0);
  const reading: TimeReading = {
    kind: d.kind,
    window,
    matched: ctx.text.slice(d.s, e).trim(),
    span: { start: d.s, end: e },
    zone: d.zone.name,
    explicit: d.explicit,
    future: d.future,
    clipped,
    notes: [...new Set(ctx.notes)],
    describe: { window, now: ctx.now, zone: d.zone.name, text: describeWindow(window, ctx.now, d.zone.name) },
  };
  if (d.incidentStart !== undefined) reading.incidentStart = d.incidentStart;
  if (d.anchor !== undefined && !d.future) {
    // The hour before, ending where the window starts (so before the moment itself).
    const to = Math.min(d.anchor - LEAD, window.from);
    reading.baseline = { from: to - BASELINE, to };
  }
  return reading;
}

/**
 * A window as answers state it: "14:00–14:30 UTC" today, "05:13–05:33 UTC on
 * 2022-08-22" another day, "00:00–24:00 UTC on 2026-11-26" a whole day,
 * "2026-11-26 23:25 – 2026-11-27 00:15 UTC" across midnight.
 */
export function describeWindow(window: TimeWindow, now: number, zone = 'UTC'): string {
  const z = resolveZone(zone) ?? UTC;
  const a = toWall(window.from, z);
  const b = toWall(window.to, z);
  const today = todayIn(z, now);
  const aDate = { y: a.y, mo: a.mo, d: a.d };
  const bDate = { y: b.y, mo: b.mo, d: b.d };
  const endsAtMidnight = b.h === 0 && b.mi === 0 && sameDate(addDays(aDate, 1), bDate) && window.to > window.from;
  if (sameDate(aDate, bDate) || endsAtMidnight) {
    const end = endsAtMidnight ? '24:00' : hhmm(b.h, b.mi);
    const on = sameDate(aDate, today) ? '' : ` on ${isoDate(aDate)}`;
    return `${hhmm(a.h, a.mi)}–${end} ${z.name}${on}`;
  }
  return `${isoDate(aDate)} ${hhmm(a.h, a.mi)} – ${isoDate(bDate)} ${hhmm(b.h, b.mi)} ${z.name}`;
}
