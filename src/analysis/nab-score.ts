/**
 * Scoring of an anomaly detector by the rules of the Numenta Anomaly Benchmark
 * (NAB), written from its published description:
 *
 * - the first 15% of each series (at most 750 rows) is a probationary period and is not scored;
 * - a detection is a row whose anomaly score is at or above the threshold;
 * - inside a labelled window only the best (that is, the earliest) detection counts, weighted by a
 *   scaled sigmoid of its position in the window: 1 at the left edge, falling towards 0 at the right;
 * - a detection outside every window is a false positive, weighted by the same sigmoid of its
 *   distance past the end of the preceding window (a detection just after a window costs little,
 *   one far from any window costs the full false-positive weight);
 * - a window without any detection costs the false-negative weight;
 * - raw scores summed over a corpus are normalised so that the null detector (never detects)
 *   scores 0 and the perfect one (detects every window at its first row) scores 100.
 *
 * One threshold serves a whole corpus; `bestThreshold` picks the one that maximises the total,
 * as NAB does.
 */

interface CostProfile {
  tp: number;
  fp: number;
  fn: number;
}

/** NAB's standard profile. */
const STANDARD_PROFILE: CostProfile = { tp: 1, fp: 0.11, fn: 1 };

const PROBATION_FRACTION = 0.15;

/**
 * 2·sigmoid(−5x) − 1: +0.987 at x = −1 (a window's left edge), 0 at x = 0 (its right edge), and
 * negative past it, reaching −1 from x = 3 on.
 */
export function scaledSigmoid(x: number): number {
  if (x >= 3) return -1;
  return 2 / (1 + Math.exp(5 * x)) - 1;
}

const MAX_TP = scaledSigmoid(-1);

function probationLength(rows: number): number {
  return Math.min(Math.floor(PROBATION_FRACTION * rows), PROBATION_FRACTION * 5000);
}

/** One scorable row: its anomaly score, what a detection there would be worth, and its window (or −1). */
interface ScorablePoint {
  score: number;
  weight: number;
  window: number;
}

/** A series prepared for scoring: its scorable rows and how many windows it has. */
export interface PreparedSeries {
  points: ScorablePoint[];
  windows: number;
}

/**
 * Weighs every row of one series. `windows` are [start, end] timestamps (inclusive, in order);
 * a window's edges are the first row at or after its start and the last row at or before its end.
 */
export function prepareSeries(
  timestamps: readonly number[],
  scores: readonly number[],
  windows: readonly (readonly [number, number])[],
  profile: CostProfile = STANDARD_PROFILE,
): PreparedSeries {
  if (timestamps.length !== scores.length) throw new Error('timestamps and scores differ in length');
  const n = timestamps.length;
  const bounds = windows.map(([start, end]) => {
    let a = 0;
    while (a < n && timestamps[a]! < start) a++;
    let b = a;
    while (b + 1 < n && timestamps[b + 1]! <= end) b++;
    return [a, b] as const;
  });
  const probation = probationLength(n);
  const points: ScorablePoint[] = [];
  let w = 0; // index of the next (or current) window
  let prevEnd = -1;
  let prevWidth = 0;
  for (let i = 0; i < n; i++) {
    while (w < bounds.length && bounds[w]![1] < i) {
      prevEnd = bounds[w]![1];
      prevWidth = bounds[w]![1] - bounds[w]![0] + 1;
      w++;
    }
    const cur = bounds[w];
    const inside = cur !== undefined && cur[0] <= i && i <= cur[1];
    let weight: number;
    if (inside) {
      const width = cur[1] - cur[0] + 1;
      weight = (scaledSigmoid(-(cur[1] - i + 1) / width) * profile.tp) / MAX_TP;
    } else {
      // Distance past the preceding window, in that window's widths; none before: the full cost.
      const past = prevEnd < 0 ? 3 : (i - prevEnd) / Math.max(1, prevWidth - 1);
      weight = scaledSigmoid(past) * profile.fp;
    }
    if (i >= probation) points.push({ score: scores[i]!, weight, window: inside ? w : -1 });
  }
  // Windows wholly inside the probationary period are not scored; the others are numbered 0, 1, …
  const ids = new Map<number, number>();
  for (const p of points) if (p.window >= 0 && !ids.has(p.window)) ids.set(p.window, ids.size);
  for (const p of points) if (p.window >= 0) p.window = ids.get(p.window)!;
  return { points, windows: ids.size };
}

interface SeriesScore {
  raw: number;
  tp: number;
  fp: number;
  fn: number;
  /** Sum of the false positives' (negative) weights. */
  fpCost: number;
}

/** Raw NAB score of one prepared series at a threshold. */
export function scoreSeries(series: PreparedSeries, threshold: number, profile: CostProfile = STANDARD_PROFILE): SeriesScore {
  const best = new Map<number, number>();
  let fp = 0;
  let fpCost = 0;
  for (const p of series.points) {
    if (p.score < threshold) continue;
    if (p.window < 0) {
      fp++;
      fpCost += p.weight;
    } else best.set(p.window, Math.max(best.get(p.window) ?? -Infinity, p.weight));
  }
  const tpSum = [...best.values()].reduce((a, b) => a + b, 0);
  const fn = series.windows - best.size;
  return { raw: tpSum + fpCost - fn * profile.fn, tp: best.size, fp, fn, fpCost };
}

/** 100 × (raw − null) / (perfect − null): the null detector scores 0 and a perfect one 100. */
export function normalise(raw: number, windows: number, profile: CostProfile = STANDARD_PROFILE): number {
  const nullScore = -windows * profile.fn;
  const perfect = windows * profile.tp;
  return perfect === nullScore ? 0 : (100 * (raw - nullScore)) / (perfect - nullScore);
}

/**
 * The threshold that maximises the summed raw score over a corpus, found by sweeping every
 * distinct score from the highest down (each step adds the rows at that score as detections).
 * Returns the total at that threshold; "never detect" (threshold above every score) is a candidate.
 */
export function bestThreshold(
  corpus: readonly PreparedSeries[],
  profile: CostProfile = STANDARD_PROFILE,
): { threshold: number; raw: number } {
  const all: { score: number; weight: number; window: number }[] = [];
  let windows = 0;
  for (const s of corpus) {
    for (const p of s.points) all.push({ score: p.score, weight: p.weight, window: p.window < 0 ? -1 : windows + p.window });
    windows += s.windows;
  }
  all.sort((a, b) => b.score - a.score);
  const best = new Float64Array(windows).fill(-profile.fn);
  let total = -windows * profile.fn;
  let top = { threshold: Number.POSITIVE_INFINITY, raw: total };
  for (let i = 0; i < all.length; ) {
    const score = all[i]!.score;
    for (; i < all.length && all[i]!.score === score; i++) {
      const p = all[i]!;
      if (p.window < 0) total += p.weight;
      else if (p.weight > best[p.window]!) {
        total += p.weight - best[p.window]!;
        best[p.window] = p.weight;
      }
    }
    if (total > top.raw) top = { threshold: score, raw: total };
  }
  return top;
}
