/**
 * Onset scoring for root-cause ranking: how sharply each signal of each
 * service changed at the moment an incident started, against a baseline that
 * ends before it. Pure functions over points; the queries live in the tools.
 *
 * Every modality becomes signals of a service: a metric of one of its pods
 * (whatever the metric is called), its span self time and the gap of calls
 * into it (from traces), its server spans and the span errors that start in it per minute, its
 * warning-or-worse log lines per minute. Each signal is scored the same way;
 * a service takes its strongest signal, discounted when many services move
 * together on the same signal; a service whose change is better explained by
 * a service it calls (from the trace dependency graph) is weighted down.
 */

const MIN = 60_000;

export interface Point {
  t: number;
  v: number;
}

export type Modality = 'metrics' | 'traces' | 'logs';

/** A signal of one service: one point per scrape or minute, or one observation per span. */
export interface Signal {
  service: string;
  /** Where it comes from: a pod (or other instance), or the traces or logs of the service. */
  source: string;
  modality: Modality;
  name: string;
  points: Point[];
  /** Counts follow Poisson noise: the yardstick is at least √(level + 1). */
  count?: boolean;
  /** Individual observations (one per span), not a series: no trend is fitted. */
  samples?: boolean;
}

export interface OnsetSettings {
  /** Points (or observations) the baseline and the onset window need at least. */
  minBaseline: number;
  minWindow: number;
  /** A trend is taken out only over a baseline this long, with this many points. */
  trendMinSpanMs: number;
  trendMinPoints: number;
  /** The yardstick of a level is at least this share of it (so a flat baseline does not make every wiggle huge). */
  levelFloor: number;
  /** Services that moved at least this share as much on the same signal count as moving with it. */
  peerShare: number;
  /** A service's own score at which it counts as changed (and may explain its callers). */
  changed: number;
  /** Weight of a service whose change a service it calls explains. */
  victimWeight: number;
}

/**
 * Defaults, fixed without the real data they are measured on: one-minute
 * scrapes give five points in five minutes, so two points make a window; a
 * trend needs half an hour; 5% is the level floor metric_deviation uses, and
 * 5 its anomaly score. A service's score is the largest of many, so the
 * usual cut-off of 3 fires on quiet simulated data (the quiet-tools test);
 * 5 does not.
 */
export const ONSET: OnsetSettings = {
  minBaseline: 4,
  minWindow: 2,
  trendMinSpanMs: 30 * MIN,
  trendMinPoints: 10,
  levelFloor: 0.05,
  peerShare: 0.5,
  changed: 5,
  victimWeight: 0.5,
};

export function median(xs: number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Theil–Sen slope (median of pairwise slopes, per millisecond): a trend a few outliers do not bend. */
export function theilSen(points: Point[]): number {
  const slopes: number[] = [];
  for (let i = 0; i < points.length; i++)
    for (let j = i + 1; j < points.length; j++) {
      const dt = points[j]!.t - points[i]!.t;
      if (dt > 0) slopes.push((points[j]!.v - points[i]!.v) / dt);
    }
  return slopes.length ? median(slopes) : 0;
}

export interface SignalScore {
  signal: Signal;
  /** The change at onset over the baseline's noise, after its trend; signed. */
  z: number;
  /** The baseline level at the onset (trend extrapolated). */
  level: number;
  /** The window's median minus that level. */
  change: number;
}

/**
 * The onset score of one signal at `t`: points before `t` are the baseline,
 * points from `t` on the window. A trend over at least half an hour of
 * baseline is taken out (a slow leak or a daily cycle is not an incident);
 * the window's median, less the baseline level extrapolated to `t`, is
 * divided by the spread of the baseline residuals (median absolute
 * deviation, so an earlier short incident in the baseline does not widen
 * it), with a floor of a share of the level, or Poisson noise for counts.
 */
export function onsetScore(signal: Signal, t: number, p: OnsetSettings = ONSET): SignalScore | undefined {
  const base = signal.points.filter((x) => x.t < t && Number.isFinite(x.v));
  const cur = signal.points.filter((x) => x.t >= t && Number.isFinite(x.v));
  if (base.length < p.minBaseline || cur.length < p.minWindow) return undefined;
  const span = base[base.length - 1]!.t - base[0]!.t;
  const slope = !signal.samples && base.length >= p.trendMinPoints && span >= p.trendMinSpanMs ? theilSen(base) : 0;
  const at = (x: Point) => x.v - slope * (x.t - t);
  const baseAtT = base.map(at);
  const level = median(baseAtT);
  const change = median(cur.map(at)) - level;
  const spread = 1.4826 * median(baseAtT.map((v) => Math.abs(v - level)));
  // The floor also bounds the score: beyond about 1/levelFloor, a bigger jump is not a surer one (an empty
  // histogram's top bucket jumping a thousandfold ties with a real twentyfold change instead of drowning it).
  const floor = signal.count ? Math.sqrt(Math.max(level, 0) + 1) : p.levelFloor * Math.max(Math.abs(level), Math.abs(level + change));
  const scale = Math.max(Number.isFinite(spread) ? spread : 0, floor, 1e-9);
  const z = change / scale;
  return Number.isFinite(z) ? { signal, z, level, change } : undefined;
}

export type FaultKind = 'cpu' | 'memory' | 'latency/network' | 'errors' | 'anomaly';

/** What kind of fault a signal points to, from common words in its name; unknown names say "anomaly". */
export function kindOfSignal(name: string): FaultKind {
  if (/gap/i.test(name)) return 'latency/network';
  if (/cpu|processor|throttl/i.test(name)) return 'cpu';
  if (/mem|heap|rss|working.?set|oom/i.test(name)) return 'memory';
  if (/error|fail|exception|success|warn|5xx|status/i.test(name)) return 'errors';
  if (/latenc|duration|self time|response.?time|p9\d|elapsed/i.test(name)) return 'latency/network';
  if (/network|bytes|packet|receive|transmit|retrans|drop/i.test(name)) return 'latency/network';
  return 'anomaly';
}

/** One scored signal of a ranked service, as evidence shows it. */
export interface ScoredSignal {
  name: string;
  source: string;
  modality: Modality;
  z: number;
  level: number;
  change: number;
  /** Services that moved at least half as much on the same signal (itself included). */
  peers: number;
  /** |z| / peers: what the ranking weighs. */
  score: number;
  kind: FaultKind;
}

export interface RankedService {
  service: string;
  /** The ranking score: the strongest signal's, weighted down when a callee explains it. */
  score: number;
  /** The strongest signal, unweighted. */
  own: number;
  kind: FaultKind;
  /** Strongest first, at most one per signal name. */
  signals: ScoredSignal[];
  /** The service it calls whose change explains this one, when the trace graph says so. */
  explainedBy?: string;
}

/**
 * The kind of a service's change, from its signals that moved at least half
 * as much as its strongest: a rise of CPU or memory is a cause that latency
 * and errors follow, so it names the kind when it is among them; else the
 * strongest of latency/network or errors; a fall of CPU or memory (less
 * work reaching the service) names nothing.
 */
function kindOf(signals: ScoredSignal[], p: OnsetSettings): FaultKind {
  const best = signals[0]!;
  const strong = signals.filter((s) => s.score >= Math.max(0.5 * best.score, Math.min(best.score, p.changed)));
  const resource = strong.find((s) => (s.kind === 'cpu' || s.kind === 'memory') && s.z > 0);
  if (resource) return resource.kind;
  const symptom = strong.find((s) => s.kind === 'latency/network' || s.kind === 'errors');
  return symptom?.kind ?? 'anomaly';
}

/** caller → callees, from traces. */
export type CallGraph = Map<string, Set<string>>;

function downstreamOf(graph: CallGraph, service: string): Set<string> {
  const seen = new Set<string>();
  const stack = [...(graph.get(service) ?? [])];
  while (stack.length) {
    const s = stack.pop()!;
    if (s === service || seen.has(s)) continue;
    seen.add(s);
    stack.push(...(graph.get(s) ?? []));
  }
  return seen;
}

/**
 * Scores every signal at `t` and ranks services by their strongest signal.
 * A signal on which many services move at once (a node's signal seen by its
 * pods, latency felt by every caller) says less about any one of them, so a
 * score is divided by the number of services that moved at least
 * `peerShare` as much on it. The kind comes from the signals that moved
 * with the strongest (see kindOf). With a call graph, a changed
 * service whose change is of a kind that spreads to callers (latency,
 * errors, an unknown signal) and that calls, directly or not, a service
 * that moved at least `peerShare` as much is weighted down: a fault
 * spreads to callers, not to callees. CPU or memory of its own is not.
 */
export function rankOnsets(signals: Signal[], t: number, graph?: CallGraph, p: OnsetSettings = ONSET): RankedService[] {
  const scored = signals.map((s) => onsetScore(s, t, p)).filter((x): x is SignalScore => x !== undefined);
  const byName = new Map<string, SignalScore[]>();
  for (const s of scored) {
    const key = `${s.signal.modality}|${s.signal.name}`;
    (byName.get(key) ?? byName.set(key, []).get(key)!).push(s);
  }
  const perService = new Map<string, ScoredSignal[]>();
  for (const s of scored) {
    const peers = new Set(
      byName
        .get(`${s.signal.modality}|${s.signal.name}`)!
        .filter((o) => Math.abs(o.z) >= p.peerShare * Math.abs(s.z))
        .map((o) => o.signal.service),
    );
    const list = perService.get(s.signal.service) ?? perService.set(s.signal.service, []).get(s.signal.service)!;
    list.push({
      name: s.signal.name,
      source: s.signal.source,
      modality: s.signal.modality,
      z: s.z,
      level: s.level,
      change: s.change,
      peers: Math.max(1, peers.size),
      score: Math.abs(s.z) / Math.max(1, peers.size),
      kind: kindOfSignal(s.signal.name),
    });
  }
  const ranked: RankedService[] = [];
  for (const [service, list] of perService) {
    // The strongest signal decides: summing a service's signals favours pods with many metrics.
    list.sort((a, b) => b.score - a.score);
    const seen = new Set<string>();
    const distinct = list.filter((s) => !seen.has(`${s.modality}|${s.name}`) && seen.add(`${s.modality}|${s.name}`));
    const best = distinct[0]!;
    ranked.push({ service, score: best.score, own: best.score, kind: kindOf(distinct, p), signals: distinct.slice(0, 5) });
  }
  if (graph?.size) {
    const own = new Map(ranked.map((r) => [r.service, r.own]));
    for (const r of ranked) {
      if (r.own < p.changed || r.kind === 'cpu' || r.kind === 'memory') continue;
      const culprit = [...downstreamOf(graph, r.service)]
        .filter((d) => (own.get(d) ?? 0) >= p.peerShare * r.own)
        .sort((a, b) => own.get(b)! - own.get(a)!)[0];
      if (culprit) {
        r.score = r.own * p.victimWeight;
        r.explainedBy = culprit;
      }
    }
  }
  return ranked.sort((a, b) => b.score - a.score || a.service.localeCompare(b.service));
}

/** Per service and minute, what the trace query returns. */
export interface SpanMinute {
  service: string;
  /** Start of the minute, epoch ms. */
  minute: number;
  /** Spans that start a request in the service (no parent, or a parent in another service). */
  server: number;
  /** Failed spans none of whose children failed: errors that start in the service. */
  errors: number;
  /** A sample of the minute's span self times (time not spent in child spans), ms. */
  selfMs: number[];
  /** A sample of the minute's call gaps into the service (the calling span less this span), ms. */
  gapMs: number[];
}

/**
 * Trace signals of each service from per-minute rows. A minute counts when
 * the workspace sent spans in it, so a service that goes quiet shows as
 * zero, not as missing. Span errors appear only when some span failed in the
 * range (a trace source that never sets a status says nothing about errors).
 */
export function traceSignals(rows: SpanMinute[]): Signal[] {
  const minutes = [...new Set(rows.map((r) => r.minute))].sort((a, b) => a - b);
  const anyError = rows.some((r) => r.errors > 0);
  const services = new Map<string, SpanMinute[]>();
  for (const r of rows) (services.get(r.service) ?? services.set(r.service, []).get(r.service)!).push(r);
  const out: Signal[] = [];
  for (const [service, list] of services) {
    const at = new Map(list.map((r) => [r.minute, r]));
    const obs = (f: (r: SpanMinute) => number[]) => list.flatMap((r) => f(r).map((v) => ({ t: r.minute, v })));
    const perMinute = (f: (r: SpanMinute) => number) => minutes.map((m) => ({ t: m, v: at.has(m) ? f(at.get(m)!) : 0 }));
    const base = { service, source: 'traces', modality: 'traces' as const };
    out.push({ ...base, name: 'span self time', points: obs((r) => r.selfMs), samples: true });
    out.push({ ...base, name: 'call gap', points: obs((r) => r.gapMs), samples: true });
    out.push({ ...base, name: 'server spans', points: perMinute((r) => r.server), count: true });
    if (anyError) out.push({ ...base, name: 'span errors starting here', points: perMinute((r) => r.errors), count: true });
  }
  return out;
}

/** Per service and minute, what the log query returns. */
export interface LogMinute {
  service: string;
  minute: number;
  /** Lines of warning severity or worse. */
  bad: number;
}

/**
 * Warnings-or-worse per minute of each service, over the minutes the
 * workspace logged at all. Plain log volume follows traffic, so it is left out.
 */
export function logSignals(rows: LogMinute[]): Signal[] {
  const minutes = [...new Set(rows.map((r) => r.minute))].sort((a, b) => a - b);
  const byKey = new Map(rows.map((r) => [`${r.service}|${r.minute}`, r.bad]));
  return [...new Set(rows.map((r) => r.service))].map((service) => ({
    service,
    source: 'logs',
    modality: 'logs' as const,
    name: 'warning or worse logs',
    points: minutes.map((m) => ({ t: m, v: byKey.get(`${service}|${m}`) ?? 0 })),
    count: true,
  }));
}
