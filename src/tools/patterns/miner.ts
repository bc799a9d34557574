/**
 * Log template mining: groups log messages into templates ("connection from
 * <*> (<*>) at <*>") with counts. An online, Drain-style clustering over
 * tokens: messages are tokenised, tokens that are evidently variable are
 * masked, candidates are narrowed by length and leading tokens, and a message
 * joins the most similar template above a threshold, which then generalises.
 */

export const WILDCARD = '<*>';

export interface MinerOptions {
  /** Share of a template's constant tokens a message must match to join it. */
  similarity?: number;
  /** Leading tokens used to narrow the candidates (Drain's tree depth). */
  prefixTokens?: number;
  /** Upper bound on templates kept; further messages fall into an overflow template. */
  maxTemplates?: number;
}

export interface Template {
  id: number;
  tokens: string[];
  /** Positions glued to the previous token in the first message (`key=` + `value`). */
  glued: boolean[];
  count: number;
  text: string;
}

const WEEKDAYS_MONTHS = new Set(
  'mon tue wed thu fri sat sun monday tuesday wednesday thursday friday saturday sunday jan feb mar apr may jun jul aug sep sept oct nov dec january february march april june july august september october november december'.split(
    ' ',
  ),
);

const KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
/** Plain wording: letters, perhaps bracketed or followed by punctuation. Two different words mean two different events. */
const WORD = /^[(["']?[A-Za-z]+[.,:;!?)\]"']*$/;
/** Units belong to the number before them: `5.2 KB` and `93 B` are the same kind of value. */
const UNITS = new Set([
  'b',
  'kb',
  'mb',
  'gb',
  'tb',
  'kib',
  'mib',
  'gib',
  'tib',
  'bytes',
  'ns',
  'us',
  'ms',
  's',
  'sec',
  'secs',
  'min',
  'mins',
  'h',
  'hrs',
]);
/** Words after which the next token names something (a user, a host): a value, not wording. */
const NAMING = new Set(['user', 'username', 'host', 'hostname']);

const bare = (t: string) => t.replace(/^[(["']+|[.,:;!?)\]"']+$/g, '').toLowerCase();

/** Splits a message into tokens; `key=value` (with an identifier key) becomes `key=` and `value`. */
export function tokenize(message: string): string[] {
  return tokenizeGlued(message).tokens;
}

function tokenizeGlued(message: string): { tokens: string[]; glued: boolean[] } {
  const tokens: string[] = [];
  const glued: boolean[] = [];
  for (const raw of message.split(/\s+/)) {
    if (raw === '') continue;
    const eq = raw.indexOf('=');
    if (eq > 0 && eq < raw.length - 1 && KEY.test(raw.slice(0, eq))) {
      tokens.push(raw.slice(0, eq + 1), raw.slice(eq + 1));
      glued.push(false, true);
    } else {
      tokens.push(raw);
      glued.push(false);
    }
  }
  return { tokens, glued };
}

/** A token that is a value rather than wording: anything with a digit, a day or month name. */
export function isVariable(token: string): boolean {
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    if (c >= 48 && c <= 57) return true;
  }
  return WEEKDAYS_MONTHS.has(token.toLowerCase().replace(/[^a-z]/g, ''));
}

/** Masks value tokens, keeping punctuation around them: `(charge.js:84:31)` becomes `(<*>)`. */
export function mask(tokens: string[]): string[] {
  return tokens.map((t) => {
    if (!isVariable(t)) return t;
    const m = /^([([{"'<]*)(.*?)([)\]}"'>,;:.!?]*)$/.exec(t)!;
    return m[2] === '' ? WILDCARD : `${m[1]}${WILDCARD}${m[3]}`;
  });
}

export class PatternMiner {
  private readonly similarity: number;
  private readonly prefixTokens: number;
  private readonly maxTemplates: number;
  private readonly buckets = new Map<string, Template[]>();
  private readonly all: Template[] = [];

  constructor(opts: MinerOptions = {}) {
    this.similarity = opts.similarity ?? 0.5;
    this.prefixTokens = opts.prefixTokens ?? 2;
    this.maxTemplates = opts.maxTemplates ?? 5000;
  }

  /** Adds a message (weighted by `count`) and returns its template id. */
  add(message: string, count = 1): number {
    const split = tokenizeGlued(message);
    const tokens = mask(split.tokens);
    const key = this.keyOf(tokens);
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = [];
      this.buckets.set(key, bucket);
    }
    let best: Template | undefined;
    let bestScore = -1;
    for (const t of bucket) {
      const s = similarity(t.tokens, tokens);
      if (s > bestScore) {
        bestScore = s;
        best = t;
      }
    }
    if (best && bestScore >= this.similarity) {
      generalise(best, tokens);
      best.count += count;
      return best.id;
    }
    if (this.all.length >= this.maxTemplates) {
      const overflow = this.overflow();
      overflow.count += count;
      return overflow.id;
    }
    const t: Template = { id: this.all.length + 1, tokens, glued: split.glued, count, text: '' };
    bucket.push(t);
    this.all.push(t);
    return t.id;
  }

  templates(): Template[] {
    for (const t of this.all) {
      if (t !== this.overflowTemplate) t.text = t.tokens.map((tok, i) => (i > 0 && !t.glued[i] ? ` ${tok}` : tok)).join('');
    }
    return this.all;
  }

  private overflowTemplate: Template | undefined;
  private overflow(): Template {
    if (!this.overflowTemplate) {
      this.overflowTemplate = { id: this.all.length + 1, tokens: [WILDCARD], glued: [false], count: 0, text: '(other messages)' };
      this.all.push(this.overflowTemplate);
    }
    return this.overflowTemplate;
  }

  /** Length and leading tokens; a name after "user" or "host" does not count as a leading token. */
  private keyOf(tokens: string[]): string {
    const lead = tokens.slice(0, this.prefixTokens).map((t, i) => (i > 0 && NAMING.has(bare(tokens[i - 1]!)) ? WILDCARD : t));
    return `${tokens.length}\u0001${lead.join('\u0001')}`;
  }
}

/**
 * Share of the template's constant positions that the message repeats; -1
 * when a plain word differs (wording, so another event).
 */
function similarity(template: string[], tokens: string[]): number {
  let same = 0;
  let constants = 0;
  for (let i = 0; i < template.length; i++) {
    const t = template[i]!;
    if (t === WILDCARD) continue;
    constants++;
    if (t === tokens[i]) same++;
    else if (
      WORD.test(t) &&
      WORD.test(tokens[i]!) &&
      !(UNITS.has(bare(t)) && UNITS.has(bare(tokens[i]!))) &&
      !(i > 0 && NAMING.has(bare(template[i - 1]!)))
    ) {
      return -1;
    }
  }
  return constants === 0 ? 1 : same / constants;
}

function generalise(t: Template, tokens: string[]): void {
  for (let i = 0; i < t.tokens.length; i++) if (t.tokens[i] !== tokens[i]) t.tokens[i] = WILDCARD;
}
