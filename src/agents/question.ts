/**
 * What a question names: services of the workspace and a time (a window, or
 * the moment an incident started). Pure and deterministic; the routing and
 * the playbooks build on it, with or without a model.
 */

export interface QuestionFacts {
  /** Services of the workspace the question mentions, in order of mention. */
  services: string[];
  /** A window the question asks about, if it names one. */
  window?: { from: number; to: number };
  /** When the question says an incident started. */
  incidentStart?: number;
  /** Lower-case words, for lexical routing. */
  words: string[];
}

const MIN = 60_000;
const HOUR = 60 * MIN;
const UNIT: Record<string, number> = {
  m: MIN,
  min: MIN,
  mins: MIN,
  minute: MIN,
  minutes: MIN,
  h: HOUR,
  hr: HOUR,
  hrs: HOUR,
  hour: HOUR,
  hours: HOUR,
  d: 24 * HOUR,
  day: 24 * HOUR,
  days: 24 * HOUR,
};
const NUMBER_WORDS: Record<string, number> = {
  a: 1,
  an: 1,
  one: 1,
  two: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
  ten: 10,
  fifteen: 15,
  twenty: 20,
  thirty: 30,
  few: 3,
  couple: 2,
};

/** A clock time (HH:MM, optionally "UTC") on the day of `now`, or the day before if that would be in the future. */
function clock(h: number, m: number, now: number): number | undefined {
  if (h > 23 || m > 59) return undefined;
  const d = new Date(now);
  let t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), h, m);
  if (t > now + 5 * MIN) t -= 24 * HOUR;
  return t;
}

function mentionedServices(text: string, services: string[]): string[] {
  const lower = ` ${text.toLowerCase().replace(/[^a-z0-9\-_.\s']/g, ' ')} `;
  const found: { s: string; at: number }[] = [];
  for (const s of services) {
    const forms = new Set([s, s.replace(/[-_.]/g, ' '), s.replace(/[-_.]/g, '')]);
    let at = -1;
    for (const f of forms) {
      const re = new RegExp(`[\\s']${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(s|es|'s)?[\\s']`);
      const m = re.exec(lower);
      if (m && (at < 0 || m.index < at)) at = m.index;
    }
    if (at >= 0) found.push({ s, at });
  }
  return found.sort((a, b) => a.at - b.at).map((f) => f.s);
}

export function understand(text: string, services: string[], now: number): QuestionFacts {
  const lower = text.toLowerCase();
  const facts: QuestionFacts = {
    services: mentionedServices(text, services),
    words: lower.split(/[^a-z0-9\-']+/).filter(Boolean),
  };
  // "last 2 hours", "past 30 minutes", "the last hour", "last few minutes"
  const last =
    /\b(?:last|past|previous)\s+(?:(\d+(?:\.\d+)?|an?|one|two|three|four|five|six|ten|fifteen|twenty|thirty|few|couple(?:\s+of)?)\s+)?(m|mins?|minutes?|h|hrs?|hours?|d|days?)\b/.exec(
      lower,
    );
  if (last) {
    const n = last[1] === undefined ? 1 : Number(last[1]) || NUMBER_WORDS[last[1].replace(/\s+of$/, '')] || 1;
    const ms = n * UNIT[last[2]!]!;
    facts.window = { from: now - ms, to: now };
  }
  // ISO timestamps: the first marks the start, a second the end.
  const isos = [...text.matchAll(/\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?/g)]
    .map((m) => Date.parse(/Z|[+-]\d{2}:?\d{2}$/.test(m[0]) ? m[0] : `${m[0]}Z`))
    .filter(Number.isFinite);
  // "between 05:10 and 05:40"
  const between = /\bbetween\s+(\d{1,2}):(\d{2})\s*(?:utc|z)?\s+and\s+(\d{1,2}):(\d{2})/.exec(lower);
  // "started at 05:18", "since 05:18", "at 5:18 UTC", "around 05:18"
  const at = /\b(since|from|at|around|about|after|started\s+at|began\s+at|starting\s+at)\s+(\d{1,2}):(\d{2})\b/.exec(lower);
  if (between) {
    const from = clock(Number(between[1]), Number(between[2]), now);
    const to = clock(Number(between[3]), Number(between[4]), now);
    if (from !== undefined && to !== undefined && to > from) {
      facts.window = { from, to };
      facts.incidentStart = from;
    }
  } else if (isos.length > 0) {
    facts.incidentStart = isos[0]!;
    facts.window = { from: isos[0]! - 5 * MIN, to: isos[1] ?? Math.min(now, isos[0]! + HOUR) };
  } else if (at) {
    const t = clock(Number(at[2]), Number(at[3]), now);
    if (t !== undefined) {
      facts.incidentStart = t;
      // From a little before the start: until now after "since", else for an hour (or until now).
      const open = /^(since|from|after)$/.test(at[1]!);
      facts.window = { from: t - 5 * MIN, to: open ? now : Math.min(now, t + HOUR) };
      if (facts.window.to - facts.window.from < 10 * MIN) facts.window.from = facts.window.to - 10 * MIN;
    }
  } else if (/\byesterday\b/.test(lower)) {
    const d = new Date(now);
    const midnight = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
    facts.window = { from: midnight - 24 * HOUR, to: midnight };
  } else if (/\btoday\b|\bsince midnight\b/.test(lower)) {
    const d = new Date(now);
    facts.window = { from: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()), to: now };
  }
  return facts;
}
