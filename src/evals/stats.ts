/*
 * Paired statistics for two variants run on the same cases: which cases one
 * won and the other lost, McNemar's exact test on those discordant pairs, and
 * a seeded bootstrap interval on the difference of pass rates. Deterministic:
 * the same outcomes and seed give the same numbers.
 */

/** log(n choose k), exact enough for n up to millions. */
function logChoose(n: number, k: number): number {
  let s = 0;
  for (let i = 1; i <= k; i++) s += Math.log(n - k + i) - Math.log(i);
  return s;
}

/**
 * McNemar's exact test: with b cases only A passed and c only B passed, the
 * two-sided p-value of a binomial(b + c, 1/2) at least as extreme as min(b, c).
 * 1 when there is no discordant pair.
 */
export function mcnemarExact(b: number, c: number): number {
  const n = b + c;
  if (n === 0) return 1;
  const k = Math.min(b, c);
  let tail = 0;
  for (let i = 0; i <= k; i++) tail += Math.exp(logChoose(n, i) - n * Math.LN2);
  return Math.min(1, 2 * tail);
}

/** A small, seeded generator (mulberry32): the same seed, the same sequence. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The q-quantile (0..1) of sorted values, linear between ranks. */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

/**
 * Percentile bootstrap of mean(b) - mean(a) over paired outcomes (1 pass, 0
 * fail): resamples case indices with replacement `rounds` times.
 */
export function bootstrapDifference(
  a: number[],
  b: number[],
  opts: { rounds?: number; seed?: number; level?: number } = {},
): { diff: number; low: number; high: number } {
  if (a.length !== b.length) throw new Error('paired outcomes need the same cases on both sides');
  const n = a.length;
  if (n === 0) return { diff: 0, low: 0, high: 0 };
  const rounds = opts.rounds ?? 2000;
  const level = opts.level ?? 0.95;
  const rand = seededRandom(opts.seed ?? 1);
  const d = a.map((x, i) => b[i]! - x);
  const mean = d.reduce((s, x) => s + x, 0) / n;
  const diffs: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += d[Math.floor(rand() * n)]!;
    diffs.push(s / n);
  }
  diffs.sort((x, y) => x - y);
  return { diff: mean, low: quantile(diffs, (1 - level) / 2), high: quantile(diffs, 1 - (1 - level) / 2) };
}

export interface PairedComparison {
  cases: number;
  /** Cases B passed and A failed. */
  won: number;
  /** Cases A passed and B failed. */
  lost: number;
  ties: number;
  pass_rate_a: number;
  pass_rate_b: number;
  mcnemar_p: number;
  /** Pass rate of B minus A, with a 95% bootstrap interval. */
  difference: { diff: number; low: number; high: number };
  changed: { case: string; a: boolean; b: boolean }[];
}

/** Compares B with A on the cases both ran (by case id). */
export function comparePaired(a: Map<string, boolean>, b: Map<string, boolean>, seed = 1): PairedComparison {
  const ids = [...a.keys()].filter((k) => b.has(k)).sort();
  const xa = ids.map((k) => (a.get(k) ? 1 : 0));
  const xb = ids.map((k) => (b.get(k) ? 1 : 0));
  let won = 0;
  let lost = 0;
  const changed: PairedComparison['changed'] = [];
  ids.forEach((k, i) => {
    if (xa[i] !== xb[i]) {
      if (xb[i]) won++;
      else lost++;
      changed.push({ case: k, a: xa[i] === 1, b: xb[i] === 1 });
    }
  });
  const rate = (x: number[]) => (x.length ? x.reduce((s, v) => s + v, 0) / x.length : 0);
  return {
    cases: ids.length,
    won,
    lost,
    ties: ids.length - won - lost,
    pass_rate_a: rate(xa),
    pass_rate_b: rate(xb),
    mcnemar_p: mcnemarExact(won, lost),
    difference: bootstrapDifference(xa, xb, { seed }),
    changed,
  };
}
