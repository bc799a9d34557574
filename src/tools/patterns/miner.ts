/**
 * Log template mining: groups log messages into templates ("connection from
 * <*> (<*>) at <*>") with counts.
 *
 * Nothing here knows any particular log system. Tokens that are values in
 * any log (anything with a digit, day and month names, a unit after a
 * number) are masked as a message arrives, and identical masked messages
 * ("shapes") are counted. Which of the remaining words are values is decided
 * from the data, by how a position varies across the lines that could share
 * a template:
 *  - shapes are narrowed Drain-style by token count and leading tokens;
 *  - within such a group, a position holding many distinct words, or words
 *    that mostly occur once, is a variable (user names, hosts, paths); a
 *    position with a few words that each recur splits the group into
 *    separate events;
 *  - lines with no word in common, or with several varying positions and too
 *    few agreed words, are split anyway, so unrelated messages do not share
 *    a template;
 *  - templates that differ only in how many values stand side by side
 *    (lists, values with spaces) are one template.
 * Templates are worked out from all shapes when asked for, so the first
 * lines are judged with everything seen since.
 */

const WILDCARD = '<*>';

export interface MinerSettings {
  /**
   * When several positions of a group vary, the share of its worded
   * positions (those not masked as values) that must agree for the group to
   * be one template; below it, the group is split.
   */
  similarity: number;
  /** Leading tokens taken as wording when narrowing the candidates (Drain's tree depth); 0 leaves them to the data. */
  prefixTokens: number;
  /** A position holding at least this many distinct words is a variable, however often each recurs. */
  variableValues: number;
  /**
   * A position where at least this share of the lines carry a word seen only
   * once is a variable: events recur, values need not (Good-Turing's
   * estimate of how likely the next line brings a new word).
   */
  singletonShare: number;
}

export interface MinerOptions extends Partial<MinerSettings> {
  /**
   * Upper bound on distinct message shapes (messages once values are masked)
   * kept in memory. Beyond it, a message of a new shape joins a template whose
   * wording it repeats, or else an overflow template.
   */
  maxTemplates?: number;
}

/**
 * The settings the service uses: the grid point that bench/log-patterns.ts
 * selects when its cross-validation is run over all of its systems at once
 * (best mean grouping accuracy; the bench says whether these still match).
 * No single system chose them, and each system's own score in the bench
 * uses settings chosen without it.
 */
export const DEFAULT_SETTINGS: Readonly<MinerSettings> = {
  similarity: 0.5,
  prefixTokens: 2,
  variableValues: 8,
  singletonShare: 0.5,
};

interface Template {
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
  // The longest name, with some punctuation around it; skips the work for long words.
  return token.length <= 14 && WEEKDAYS_MONTHS.has(token.toLowerCase().replace(/[^a-z]/g, ''));
}

const isMasked = (t: string) => t.includes(WILDCARD);
/** A value with at most brackets and punctuation around it, no key: `<*>`, `(<*>),`. */
const isBareValue = (t: string) => isMasked(t) && /^[^A-Za-z0-9]*$/.test(t.replace(WILDCARD, ''));

/**
 * Sizes and durations: a unit standing after a number belongs to the value
 * (`5.2 KB` and `93 B` are the same kind of value), as it does when glued (`12ms`).
 */
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
  'µs',
  'ms',
  's',
  'sec',
  'secs',
  'min',
  'mins',
  'h',
  'hrs',
]);

/** Separators inside a token that part a key from its value: `batch:31`, `a=1,b=2`, `x|7`. */
const PIECES = /([:=,;|]+)/;
const EDGES = /^([([{"'<]*)(.*?)([)\]}"'>,;:.!?]*)$/;

/**
 * Masks value tokens, keeping brackets, punctuation and keys around them:
 * `(42)` becomes `(<*>)`, `id=17,` `id=<*>,`, `0x1F:` `<*>:`, `5.2KB` and
 * `12ms` `<*>`, `(charge.js:84:31)` `(charge.js:<*>)`.
 */
export function mask(tokens: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (isVariable(t)) out.push(maskToken(t));
    else if (i > 0 && isMasked(out[i - 1]!) && t.length <= 8 && UNITS.has(t.toLowerCase().replace(/[^a-zµ]/g, ''))) {
      const [, open, , close] = EDGES.exec(t)!;
      out.push(`${open}${WILDCARD}${close}`);
    } else out.push(t);
  }
  return out;
}

function maskToken(t: string): string {
  const [, open, body, close] = EDGES.exec(t)!;
  if (body === '') return WILDCARD;
  const parts = body!.split(PIECES);
  let masked = '';
  // Parts alternate piece, separator, piece; values joined by separators
  // (`12:30:01`, `10.0.0.1:80`) then read as one value.
  for (let j = 0; j < parts.length; j++) {
    const p = parts[j]!;
    if (j % 2 === 1) masked += p;
    else if (isVariable(p)) masked += WILDCARD;
    else masked += p;
  }
  masked = masked.replace(/<\*>(?:[:=,;|]+<\*>)+/g, WILDCARD);
  return `${open}${masked}${close}`;
}

/** One distinct masked message and how many lines had it. */
interface Shape {
  id: number;
  tokens: string[];
  glued: boolean[];
  count: number;
  template: Template | undefined;
}

export class PatternMiner {
  private readonly settings: MinerSettings;
  private readonly maxTemplates: number;
  private readonly byKey = new Map<string, Shape>();
  private readonly shapes: Shape[] = [];
  private overflowShape: Shape | undefined;
  private built: Template[] = [];
  private byCandidate: Map<string, Group[]> | undefined;
  private dirty = false;

  constructor(opts: MinerOptions = {}) {
    this.settings = {
      similarity: opts.similarity ?? DEFAULT_SETTINGS.similarity,
      prefixTokens: opts.prefixTokens ?? DEFAULT_SETTINGS.prefixTokens,
      variableValues: opts.variableValues ?? DEFAULT_SETTINGS.variableValues,
      singletonShare: opts.singletonShare ?? DEFAULT_SETTINGS.singletonShare,
    };
    this.maxTemplates = opts.maxTemplates ?? 50_000;
  }

  /**
   * Adds a message (weighted by `count`) and returns a handle for it. The
   * template a handle belongs to can change as more lines arrive: resolve it
   * with `templateOf` once the lines are in.
   */
  add(message: string, count = 1): number {
    const split = tokenizeGlued(message);
    const tokens = mask(split.tokens);
    const key = tokens.join('\u0001');
    let shape = this.byKey.get(key);
    if (!shape && this.shapes.length >= this.maxTemplates) {
      // Memory is bounded: a new shape joins a template whose wording it
      // repeats, through one of that template's shapes, or else the overflow.
      shape = this.matching(tokens);
      if (!shape) {
        this.overflowShape ??= { id: this.shapes.length + 1, tokens: [], glued: [], count: 0, template: undefined };
        shape = this.overflowShape;
      }
    }
    if (!shape) {
      shape = { id: this.shapes.length + 1, tokens, glued: split.glued, count: 0, template: undefined };
      this.byKey.set(key, shape);
      this.shapes.push(shape);
    }
    shape.count += count;
    this.dirty = true;
    return shape.id;
  }

  /** The templates of all lines added so far; ids run from 1. */
  templates(): Template[] {
    if (this.dirty) this.build();
    return this.built;
  }

  /** The template of a handle returned by `add`. */
  templateOf(id: number): Template {
    if (this.dirty) this.build();
    const shape = id === this.overflowShape?.id ? this.overflowShape : this.shapes[id - 1];
    if (!shape?.template) throw new RangeError(`no message was added with id ${id}`);
    return shape.template;
  }

  /** A shape of a template (as last built) whose words the message repeats position by position. */
  private matching(tokens: string[]): Shape | undefined {
    if (!this.byCandidate) this.build();
    for (const g of this.byCandidate?.get(candidateKey(tokens, this.settings.prefixTokens)) ?? []) {
      if (g.tokens.every((t, i) => t === WILDCARD || t === tokens[i])) return g.shapes[0];
    }
    return undefined;
  }

  private build(): void {
    this.dirty = false;
    this.byCandidate = new Map();
    // Templates that differ only in how many values stand side by side (a
    // list, a value with spaces) are one: merge on the wording with each run
    // of values as one wildcard.
    const merged = new Map<string, { group: Group; shapes: Shape[]; first: number }>();
    for (const g of mineGroups(this.shapes, this.settings)) {
      const candidate = candidateKey(g.shapes[0]!.tokens, this.settings.prefixTokens);
      const same = this.byCandidate.get(candidate);
      if (same) same.push(g);
      else this.byCandidate.set(candidate, [g]);
      const key = wordingKey(g.tokens);
      let first = Infinity;
      for (const s of g.shapes) first = Math.min(first, s.id);
      const m = merged.get(key);
      if (!m) merged.set(key, { group: g, shapes: [...g.shapes], first });
      else {
        for (const s of g.shapes) m.shapes.push(s);
        if (g.tokens.length < m.group.tokens.length) m.group = g;
        m.first = Math.min(m.first, first);
      }
    }
    this.built = [...merged.values()]
      .sort((a, b) => a.first - b.first)
      .map((m, i) => {
        const { tokens, shapes } = m.group;
        const t: Template = { id: i + 1, ...display(tokens, shapes[0]!.glued), count: 0, text: '' };
        t.text = t.tokens.map((tok, j) => (j > 0 && !t.glued[j] ? ` ${tok}` : tok)).join('');
        for (const s of m.shapes) {
          t.count += s.count;
          s.template = t;
        }
        return t;
      });
    if (this.overflowShape) {
      const t: Template = {
        id: this.built.length + 1,
        tokens: [WILDCARD],
        glued: [false],
        count: this.overflowShape.count,
        text: '(other messages)',
      };
      this.overflowShape.template = t;
      this.built.push(t);
    }
  }
}

/** Each run of bare values as one wildcard: the wording that templates of different lengths must share to be one. */
function wordingKey(tokens: string[]): string {
  const out: string[] = [];
  for (const t of tokens) {
    if (!isBareValue(t)) out.push(t);
    else if (out[out.length - 1] !== WILDCARD) out.push(WILDCARD);
  }
  return out.join('\u0001');
}

/** Template text tokens: a bare wildcard followed by another value (`5.2 KB,`) reads as that one value (`<*>,`). */
function display(tokens: string[], glued: boolean[]): { tokens: string[]; glued: boolean[] } {
  const out = { tokens: [] as string[], glued: [] as boolean[] };
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (i > 0 && out.tokens[out.tokens.length - 1] === WILDCARD && t.startsWith(WILDCARD)) out.tokens[out.tokens.length - 1] = t;
    else {
      out.tokens.push(t);
      out.glued.push(glued[i] ?? false);
    }
  }
  return out;
}

interface Group {
  shapes: Shape[];
  tokens: string[];
}

/** Drain's narrowing: messages of one event have one length and begin with the same wording. */
function candidateKey(tokens: string[], prefixTokens: number): string {
  return `${tokens.length}\u0001${tokens.slice(0, prefixTokens).join('\u0001')}`;
}

/** Groups shapes into events; each group comes with its template tokens. */
function mineGroups(shapes: Shape[], settings: MinerSettings): Group[] {
  const candidates = new Map<string, Shape[]>();
  for (const s of shapes) {
    const key = candidateKey(s.tokens, settings.prefixTokens);
    const c = candidates.get(key);
    if (c) c.push(s);
    else candidates.set(key, [s]);
  }
  const out: Group[] = [];
  for (const group of candidates.values()) splitGroup(group, settings, out);
  return out;
}

/**
 * Splits a group of same-length shapes on the positions whose words look like
 * wording (few distinct words, each recurring) until the rest vary like values.
 */
function splitGroup(group: Shape[], settings: MinerSettings, out: Group[]): void {
  const length = group[0]!.tokens.length;
  let lines = 0;
  for (const s of group) lines += s.count;
  const tokens: string[] = [];
  let constant = 0;
  let varying = 0;
  let splitAt = -1;
  let splitValues = Infinity;
  let fallbackAt = -1;
  let fallbackValues = Infinity;
  for (let i = 0; i < length; i++) {
    const values = new Map<string, number>();
    for (const s of group) {
      const v = s.tokens[i]!;
      values.set(v, (values.get(v) ?? 0) + s.count);
    }
    if (values.size === 1) {
      const v = group[0]!.tokens[i]!;
      tokens.push(v);
      if (!isMasked(v)) constant++;
      continue;
    }
    tokens.push(WILDCARD);
    let masked = 0;
    for (const v of values.keys()) if (isMasked(v)) masked++;
    const k = values.size;
    if (masked < k) {
      varying++;
      if (k < fallbackValues) {
        fallbackValues = k;
        fallbackAt = i;
      }
      // Words standing where other lines have numbers are values too.
      if (masked > 0) continue;
    }
    let once = 0;
    for (const c of values.values()) if (c === 1) once++;
    const variable = k >= settings.variableValues || once / lines >= settings.singletonShare;
    if (!variable && k < splitValues) {
      splitValues = k;
      splitAt = i;
    }
  }
  // Lines with no word in common, or several varying words and too few agreed
  // ones, are not shown to be one event: split on the least varied position.
  // One varying word among agreed ones is judged by its own variability alone.
  if (splitAt < 0 && varying > 0 && (constant === 0 || (varying > 1 && constant / (constant + varying) < settings.similarity)))
    splitAt = fallbackAt;
  if (splitAt < 0) {
    out.push({ shapes: group, tokens });
    return;
  }
  const parts = new Map<string, Shape[]>();
  for (const s of group) {
    const v = s.tokens[splitAt]!;
    const p = parts.get(v);
    if (p) p.push(s);
    else parts.set(v, [s]);
  }
  for (const p of parts.values()) splitGroup(p, settings, out);
}
