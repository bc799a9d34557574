/**
 * Time zones for reading and writing clock times: UTC, fixed offsets, a small
 * table of abbreviations, and IANA names through Intl. Pure: the offset of a
 * zone depends only on the instant asked about.
 */

export const MIN = 60_000;
export const HOUR = 60 * MIN;
export const DAY = 24 * HOUR;

export interface Zone {
  /** How the zone is named in answers: "UTC", "UTC+02:00", "CET", "Europe/Berlin". */
  name: string;
  /** Minutes east of UTC at an instant. */
  offsetAt(ms: number): number;
  /** Set when the name was read one way of several (e.g. "IST"). */
  note?: string;
}

/**
 * Abbreviations name a fixed offset: "PST" is UTC-08:00 even in July, because
 * that is what the letters say (a user who means "Pacific time" all year can
 * write "PT" or America/Los_Angeles). Ambiguous ones take the reading most
 * likely in an operations team and say so in a note.
 */
const ABBREVIATIONS: Record<string, { minutes: number; note?: string }> = {
  UTC: { minutes: 0 },
  GMT: { minutes: 0 },
  Z: { minutes: 0 },
  ZULU: { minutes: 0 },
  WET: { minutes: 0 },
  WEST: { minutes: 60 },
  BST: { minutes: 60, note: 'BST read as British Summer Time (UTC+01:00)' },
  CET: { minutes: 60 },
  CEST: { minutes: 120 },
  EET: { minutes: 120 },
  EEST: { minutes: 180 },
  MSK: { minutes: 180 },
  IST: { minutes: 330, note: 'IST read as India Standard Time (UTC+05:30)' },
  SGT: { minutes: 480 },
  HKT: { minutes: 480 },
  JST: { minutes: 540 },
  KST: { minutes: 540 },
  AEST: { minutes: 600 },
  AEDT: { minutes: 660 },
  NZST: { minutes: 720 },
  NZDT: { minutes: 780 },
  EST: { minutes: -300 },
  EDT: { minutes: -240 },
  CST: { minutes: -360, note: 'CST read as US Central Standard Time (UTC-06:00)' },
  CDT: { minutes: -300 },
  MST: { minutes: -420 },
  MDT: { minutes: -360 },
  PST: { minutes: -480 },
  PDT: { minutes: -420 },
  AKST: { minutes: -540 },
  AKDT: { minutes: -480 },
  HST: { minutes: -600 },
};

/** Generic names whose offset follows daylight saving: they map to a region's IANA zone. */
const REGIONS: Record<string, string> = {
  PT: 'America/Los_Angeles',
  MT: 'America/Denver',
  CT: 'America/Chicago',
  ET: 'America/New_York',
};

export const ABBREVIATION_NAMES = Object.keys(ABBREVIATIONS).filter((k) => k !== 'Z' && k !== 'ZULU');
export const REGION_NAMES = Object.keys(REGIONS);

export const UTC: Zone = { name: 'UTC', offsetAt: () => 0 };

function fixed(minutes: number, name?: string, note?: string): Zone {
  if (minutes === 0 && !name) return UTC;
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  const label = `UTC${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  return { name: name ?? label, offsetAt: () => minutes, ...(note ? { note } : {}) };
}

// Formatters are costly to build; one per zone is kept (the cache does not change results).
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(tz, f);
  }
  return f;
}

function iana(tz: string): Zone | undefined {
  let canonical: string;
  try {
    canonical = formatter(tz).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
  const f = formatter(canonical);
  return {
    name: canonical,
    offsetAt(ms: number): number {
      const p: Record<string, number> = {};
      for (const part of f.formatToParts(ms)) if (part.type !== 'literal') p[part.type] = Number(part.value);
      const wall = Date.UTC(p.year ?? 1970, (p.month ?? 1) - 1, p.day ?? 1, (p.hour ?? 0) % 24, p.minute ?? 0, p.second ?? 0);
      const whole = ms - (((ms % 1000) + 1000) % 1000);
      return Math.round((wall - whole) / MIN);
    },
  };
}

/**
 * A zone from how a question or a setting names it: "UTC", "Z", "+02:00",
 * "UTC+2", "GMT-5", "UTC+05:30", "CET", "PT", "Europe/Berlin".
 */
export function resolveZone(raw: string): Zone | undefined {
  const name = raw.trim().replace(/\u2212/g, '-');
  if (!name) return undefined;
  const upper = name.toUpperCase();
  const offset = /^(?:UTC|GMT)?\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?$/.exec(upper);
  if (offset) {
    const h = Number(offset[2]);
    const m = Number(offset[3] ?? 0);
    if (h > 14 || m > 59) return undefined;
    return fixed((offset[1] === '-' ? -1 : 1) * (h * 60 + m));
  }
  if (upper === 'UTC' || upper === 'GMT' || upper === 'Z' || upper === 'ZULU') return UTC;
  const abbr = ABBREVIATIONS[upper];
  if (abbr) return fixed(abbr.minutes, upper, abbr.note);
  const region = REGIONS[upper];
  if (region) {
    const z = iana(region);
    return z ? { ...z, name: upper, note: `${upper} read as ${region}` } : undefined;
  }
  if (name.includes('/')) return iana(name);
  return undefined;
}

/** A calendar day (month 1–12). */
export interface CalendarDate {
  y: number;
  mo: number;
  d: number;
}

interface Wall extends CalendarDate {
  h: number;
  mi: number;
  s: number;
  /** Day of the week, 0 = Sunday. */
  dow: number;
}

/** The clock on the wall in a zone at an instant. */
export function toWall(ms: number, zone: Zone): Wall {
  const w = new Date(ms + zone.offsetAt(ms) * MIN);
  return {
    y: w.getUTCFullYear(),
    mo: w.getUTCMonth() + 1,
    d: w.getUTCDate(),
    h: w.getUTCHours(),
    mi: w.getUTCMinutes(),
    s: w.getUTCSeconds(),
    dow: w.getUTCDay(),
  };
}

/** The instant a wall clock in a zone shows a time (two passes settle the offset around a change of daylight saving). */
export function fromWall(date: CalendarDate, h: number, mi: number, s: number, zone: Zone): number {
  const guess = Date.UTC(date.y, date.mo - 1, date.d, h, mi, s);
  const first = guess - zone.offsetAt(guess) * MIN;
  return guess - zone.offsetAt(first) * MIN;
}

export function isValidDate(y: number, mo: number, d: number): boolean {
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return false;
  const t = new Date(Date.UTC(y, mo - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d;
}

export function addDays(date: CalendarDate, n: number): CalendarDate {
  const t = new Date(Date.UTC(date.y, date.mo - 1, date.d + n));
  return { y: t.getUTCFullYear(), mo: t.getUTCMonth() + 1, d: t.getUTCDate() };
}

export function dayStart(date: CalendarDate, zone: Zone): number {
  return fromWall(date, 0, 0, 0, zone);
}

export function isoDate(date: CalendarDate): string {
  return `${String(date.y).padStart(4, '0')}-${String(date.mo).padStart(2, '0')}-${String(date.d).padStart(2, '0')}`;
}

export function sameDate(a: CalendarDate, b: CalendarDate): boolean {
  return a.y === b.y && a.mo === b.mo && a.d === b.d;
}
