/**
 * What a question is about: services of the workspace, and hosts, pods,
 * nodes, jobs, namespaces and containers it names, whether the telemetry
 * knows them or not (so an answer can say "no telemetry names host X"
 * instead of quietly answering about something else).
 *
 * Services match on words, case-insensitively, with the forms people write:
 * plurals and possessives ("payments", "checkout's"), separators or none
 * ("product catalog", "product_catalog", "productcatalog" for
 * product-catalog), and a trailing "service" ("ledger service",
 * "ledgerservice"). A service is only found as whole words: "cart" is not
 * mentioned by the pod name "cart-7d9f-abcde" (the pod records it as its
 * owner instead).
 *
 * Other things need their kind next to them ("host web01", "the
 * kube-system namespace", "pod named api") and a name that looks like an
 * identifier (a digit, '-', '_', '.', or inner capitals) unless it is quoted
 * or follows "named"/"called": "host cpu" or "pod is" are not names.
 */

export type EntityKind = 'service' | 'host' | 'pod' | 'node' | 'job' | 'namespace' | 'container';
type OtherKind = Exclude<EntityKind, 'service'>;

export interface Mention {
  kind: EntityKind;
  /** The known spelling when known, else as written. */
  name: string;
  /** The telemetry names it (a service of the workspace, or in the known lists). */
  known: boolean;
  /** The words of the question that named it. */
  matched: string;
  index: number;
  /** For a pod or container named after a service ("cart-7d9f-abcde"): that service. */
  service?: string;
}

export interface SubjectOptions {
  /** Services of the workspace. */
  services: readonly string[];
  /** Other names the telemetry has, by kind; they are also found without their kind word. */
  known?: Partial<Record<OtherKind, readonly string[]>>;
}

export interface SubjectReading {
  /** Known services named, in order of first mention. */
  services: string[];
  /** Everything named (services and others), in order. */
  mentions: Mention[];
  /** Hosts, pods, nodes, jobs, namespaces, containers named (known or not). */
  entities: Mention[];
  /** Named things no telemetry knows. */
  unknown: Mention[];
}

/** Kind words and what they name. */
const KIND_WORDS: Record<string, OtherKind> = {
  host: 'host',
  hostname: 'host',
  server: 'host',
  machine: 'host',
  vm: 'host',
  instance: 'host',
  node: 'node',
  pod: 'pod',
  container: 'container',
  job: 'job',
  cronjob: 'job',
  namespace: 'namespace',
  ns: 'namespace',
};
const KIND = `(${Object.keys(KIND_WORDS).join('|')})s?`;

/** Words that follow a kind word without being a name ("host is down", "pod with the most restarts"). */
const NOT_NAMES = new Set(
  'is are was were has have had with the a an that this which who for in on of and or to by from per at as be been its it name names named called running that'.split(
    ' ',
  ),
);

const NAME = '[A-Za-z0-9][A-Za-z0-9._:-]*[A-Za-z0-9]|[A-Za-z0-9]';

function identifierLike(name: string): boolean {
  return /[\d_.-]/.test(name) || /[a-z][A-Z]/.test(name);
}

interface Word {
  raw: string;
  key: string;
  s: number;
  e: number;
}

/** Lower case, no separators, no possessive: "Product-Catalog's" → "productcatalog". */
function key(raw: string): string {
  return raw
    .toLowerCase()
    .replace(/['’]s?$/, '')
    .replace(/[^a-z0-9]/g, '');
}

/** The forms a written key may take for a name: itself, singular, without a trailing "service". */
function forms(k: string): string[] {
  const out = new Set([k]);
  for (const base of [k, k.replace(/(?:service|svc)$/, '')]) {
    if (base.length < 2) continue;
    out.add(base);
    if (/ies$/.test(base)) out.add(`${base.slice(0, -3)}y`);
    if (/(?:s|x|ch|sh)es$/.test(base)) out.add(base.slice(0, -2));
    if (/[^su]s$/.test(base)) out.add(base.slice(0, -1));
  }
  return [...out];
}

function words(text: string): Word[] {
  const out: Word[] = [];
  for (const m of text.matchAll(/[\p{L}\p{N}]+(?:[_.\-:][\p{L}\p{N}]+)*(?:['’]s?)?/gu)) {
    out.push({ raw: m[0], key: key(m[0]), s: m.index, e: m.index + m[0].length });
  }
  return out;
}

function findServices(text: string, services: readonly string[]): Mention[] {
  const byKey = new Map<string, string>();
  let longest = 1;
  for (const s of services) {
    const k = key(s);
    // The first service wins a key two services share ("product-catalog" and "productcatalog").
    if (k && !byKey.has(k)) byKey.set(k, s);
    for (const f of forms(k)) if (!byKey.has(f)) byKey.set(f, s);
    longest = Math.max(longest, s.split(/[-_.\s]+/).length);
  }
  const ws = words(text);
  const found: Mention[] = [];
  for (let i = 0; i < ws.length; i++) {
    // The longest run of words first: "frontend proxy" is frontend-proxy, not frontend.
    for (let n = Math.min(longest + 1, ws.length - i); n >= 1; n--) {
      const run = ws.slice(i, i + n);
      if (run.some((w, j) => j > 0 && !/^[\s-]+$/.test(text.slice(run[j - 1]!.e, w.s)))) continue;
      const joined = run.map((w) => w.key).join('');
      const service = forms(joined)
        .map((f) => byKey.get(f))
        .find((s) => s !== undefined);
      if (!service) continue;
      const last = run.at(-1)!;
      found.push({ kind: 'service', name: service, known: true, matched: text.slice(run[0]!.s, last.e), index: run[0]!.s });
      i += n - 1;
      break;
    }
  }
  return found;
}

function knownName(name: string, list: readonly string[] | undefined): string | undefined {
  const lower = name.toLowerCase();
  return list?.find((k) => k.toLowerCase() === lower);
}

/** The service a pod or container is named after: "cart-7d9f-abcde" → cart. */
function owner(name: string, services: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  return [...services]
    .sort((a, b) => b.length - a.length)
    .find((s) => lower.startsWith(`${s.toLowerCase()}-`) && lower.length > s.length + 1);
}

function findOthers(text: string, opts: SubjectOptions): Mention[] {
  const found: Mention[] = [];
  const add = (kind: OtherKind, written: string, s: number, e: number) => {
    if (found.some((f) => s < f.index + f.matched.length && f.index < e)) return;
    const inKind = knownName(written, opts.known?.[kind]);
    const asService = knownName(written, opts.services);
    const name = inKind ?? asService ?? written;
    const m: Mention = { kind, name, known: Boolean(inKind ?? asService), matched: text.slice(s, e), index: s };
    if (kind === 'pod' || kind === 'container') {
      const svc = owner(written, opts.services);
      if (svc) m.service = svc;
    }
    found.push(m);
  };
  // host web01, pod named api, namespace: payments-prod, job `data_collector`
  const forward = new RegExp(`\\b${KIND}\\b\\s*(?:(named|called)\\s+|[:=]\\s*)?([\`'"]?)(${NAME})\\3`, 'gi');
  for (const m of text.matchAll(forward)) {
    const kind = KIND_WORDS[m[1]!.toLowerCase()]!;
    const name = m[4]!;
    const vouched = Boolean(m[2] || m[3]);
    if (NOT_NAMES.has(name.toLowerCase())) continue;
    if (!vouched && !identifierLike(name) && !knownName(name, opts.known?.[kind])) continue;
    add(kind, name, m.index, m.index + m[0].length);
  }
  // the kube-system namespace, the cart-7d9f-abcde pod
  const backward = new RegExp(`([\`'"]?)\\b(${NAME})\\1\\s+${KIND}\\b`, 'gi');
  for (const m of text.matchAll(backward)) {
    const kind = KIND_WORDS[m[3]!.toLowerCase()]!;
    const name = m[2]!;
    if (!m[1] && !identifierLike(name)) continue;
    // "the product-catalog pod" is about the service.
    if (knownName(name, opts.services)) continue;
    add(kind, name, m.index, m.index + m[0].length);
  }
  // Names the telemetry has, written without their kind.
  for (const [kind, list] of Object.entries(opts.known ?? {}) as [OtherKind, readonly string[]][]) {
    for (const w of words(text)) {
      const bare = w.raw.replace(/['’]s?$/, '');
      if (knownName(bare, list)) add(kind, bare, w.s, w.s + bare.length);
    }
  }
  return found;
}

export function findSubject(text: string, opts: SubjectOptions): SubjectReading {
  const others = findOthers(text, opts);
  // A service inside a name already claimed ("host checkout-01") is not a mention of the service,
  // unless the thing is named exactly like the service ("job data_collector": its telemetry is the service's).
  const services = findServices(text, opts.services).filter(
    (s) =>
      !others.some(
        (o) =>
          s.index < o.index + o.matched.length && o.index < s.index + s.matched.length && o.name.toLowerCase() !== s.name.toLowerCase(),
      ),
  );
  const mentions = [...services, ...others].sort((a, b) => a.index - b.index);
  return {
    services: [...new Set(services.map((s) => s.name))],
    mentions,
    entities: others.sort((a, b) => a.index - b.index),
    unknown: others.filter((o) => !o.known),
  };
}
