/**
 * Online anomaly detection for one metric series.
 *
 *   const detector = new AnomalyDetector();
 *   for (const [t, v] of rows) score = detector.push(t, v); // 0 … 1, from this row and earlier ones only
 *
 * The score says how far the series has just moved outside everything it did before:
 *
 * - value and level: the mean of the last w points (w = 1, 4, 16, 64; w = 1 is the value itself,
 *   so spikes; longer means catch level shifts and bursts that no single point gives away) is
 *   compared with the range that means of the same length took over the long history (the last
 *   8192 points). A mean only joins that history once it no longer overlaps the current one, so a
 *   shift is measured against the old level for w points, not against its own first steps.
 * - time of day: the value is compared with the envelope (min to max) of the values seen within
 *   ±10 minutes of the same time of day on each of the previous 7 days. Going outside it is
 *   evidence only when it is large next to how far outside the envelope the series usually goes,
 *   so a missing daily peak or a flat line where a cycle should be stands out once the cycle is
 *   learned, while a series without a daily cycle (always outside its envelope) does not fire.
 * - variability: the mean absolute step over the last 64 points, against its own history, for a
 *   series that turns noisy or goes flat.
 *
 * Each of these is an exceedance beyond the historical range, relative to that range (free of
 * units, and judged against the series' own past extremes), less a margin that is larger for a
 * short history (a range seen in few independent samples is still growing). The
 * largest one is the evidence of the row. A row then scores only by what its evidence adds to
 * the largest evidence of the previous 144 points: a long anomaly fires at its onset and again
 * only if it gets worse, and the history of extremes absorbs it as it persists.
 *
 * The first 100 rows only teach (they score 0). Timestamps: the step is inferred from the first
 * rows (median of their spacing), missing points are tolerated (the daily envelope is keyed by
 * clock time; a jump across a gap is not taken as variability), non-finite values are skipped
 * and score 0.
 *
 * Cost: O(1) amortised per point (a few dozen operations). Memory per series: about 30 KB
 * (`memoryBytes()`), most of it the daily envelope (7 days × up to 288 buckets × min and max).
 *
 * Defaults: one set for every series, chosen on the NAB development corpus as a whole, never per
 * file; bench/anomalies.ts reports the leave-one-series-out score over the suppression horizon and
 * the variability window. Limits: heavy-tailed noise (log-normal, bursts of rare spikes) sets new
 * records more often than Gaussian noise, so it alarms more (a few rows in ten thousand at 0.5);
 * after a large anomaly, smaller ones are judged against it until it leaves the history.
 */

const DAY_MS = 86_400_000;
/** Finest time-of-day bucket of the daily envelope: one-minute data is grouped in five-minute buckets. */
const MIN_BUCKET_MS = 300_000;
const JITTER_MS = 600_000;
/** Evidence e is reported as e / (e + SCALE): 0.5 is a value (or mean) 5.5% of the historical range past the margin. */
const SCORE_SCALE = 0.055;

export interface AnomalyDetectorOptions {
  /** Lengths, in points, of the means whose novelty is checked; 1 is the value itself. */
  scales?: readonly number[];
  /** Length, in points, of the window of mean absolute steps (variability). 0 turns it off. */
  spreadScale?: number;
  /** How many past points the history of extremes covers. */
  historyPoints?: number;
  /** Days of the daily envelope; 0 turns the time-of-day comparison off. */
  seasonDays?: number;
  /** After evidence, how many points (at least one) it takes before the same evidence may fire again. */
  refractoryPoints?: number;
}

/** The defaults, the same for every series (half a day of suppression at five-minute steps). */
export const DEFAULT_OPTIONS: Readonly<Required<AnomalyDetectorOptions>> = Object.freeze({
  scales: Object.freeze([1, 4, 16, 64]),
  spreadScale: 64,
  historyPoints: 8192,
  seasonDays: 7,
  refractoryPoints: 144,
});

/** Which evidence gave a row its score. */
type AnomalyKind = 'none' | 'spike' | 'level' | 'daily-pattern' | 'variability';

/** Sliding max and min over the last `blocks × size` values (granularity of one block), O(1) amortised. */
class SlidingRange {
  private readonly maxes: Float64Array;
  private readonly mins: Float64Array;
  private filled = 0; // completed blocks held
  private next = 0; // where the next completed block goes
  private curMax = Number.NEGATIVE_INFINITY;
  private curMin = Number.POSITIVE_INFINITY;
  private inBlock = 0;
  private oldMax = Number.NEGATIVE_INFINITY;
  private oldMin = Number.POSITIVE_INFINITY;
  /** Values seen, capped at the capacity. */
  count = 0;

  constructor(
    private readonly size: number,
    blocks: number,
  ) {
    this.maxes = new Float64Array(blocks);
    this.mins = new Float64Array(blocks);
  }

  add(x: number): void {
    if (this.count < this.size * this.maxes.length) this.count++;
    if (x > this.curMax) this.curMax = x;
    if (x < this.curMin) this.curMin = x;
    if (++this.inBlock < this.size) return;
    this.maxes[this.next] = this.curMax;
    this.mins[this.next] = this.curMin;
    this.next = (this.next + 1) % this.maxes.length;
    this.filled = Math.min(this.filled + 1, this.maxes.length);
    // Recomputed once per block, so the cost per value is O(blocks / size).
    let hi = Number.NEGATIVE_INFINITY;
    let lo = Number.POSITIVE_INFINITY;
    for (let i = 0; i < this.filled; i++) {
      if (this.maxes[i]! > hi) hi = this.maxes[i]!;
      if (this.mins[i]! < lo) lo = this.mins[i]!;
    }
    this.oldMax = hi;
    this.oldMin = lo;
    this.curMax = Number.NEGATIVE_INFINITY;
    this.curMin = Number.POSITIVE_INFINITY;
    this.inBlock = 0;
  }

  get max(): number {
    return Math.max(this.oldMax, this.curMax);
  }

  get min(): number {
    return Math.min(this.oldMin, this.curMin);
  }

  get bytes(): number {
    return 16 * this.maxes.length;
  }
}

/** Blocks of the history ranges: 128 blocks, so each history costs 2 KB whatever its length. */
const HISTORY_BLOCKS = 128;

/**
 * Novelty of one stream at several scales: how far the mean of its last w values lies outside
 * the range such means took over the history, as a fraction of that range.
 */
class MultiScaleNovelty {
  private readonly ring: Float64Array;
  private pos = 0;
  private seen = 0;
  private readonly sums: Float64Array;
  /** Per scale, the last w means, waiting to join the history once they no longer overlap the current one. */
  private readonly pending: Float64Array[];
  private readonly ranges: SlidingRange[];
  /** Scale index of the last push's largest novelty. */
  lastScale = 0;

  constructor(
    private readonly scales: readonly number[],
    historyPoints: number,
  ) {
    this.ring = new Float64Array(Math.max(...scales));
    this.sums = new Float64Array(scales.length);
    this.pending = scales.map((w) => new Float64Array(w));
    const size = Math.max(1, Math.ceil(historyPoints / HISTORY_BLOCKS));
    this.ranges = scales.map(() => new SlidingRange(size, HISTORY_BLOCKS));
  }

  /** Range of the stream itself (its shortest scale) over the history. */
  get span(): number {
    const r = this.ranges[0]!;
    return r.count > 0 ? r.max - r.min : 0;
  }

  /** Adds a value; returns its novelty (0 when inside the history's range). `minSpan` floors the range. */
  push(x: number, minSpan = 0): number {
    const len = this.ring.length;
    for (let k = 0; k < this.scales.length; k++) {
      const w = this.scales[k]!;
      const leaving = this.seen >= w ? this.ring[(this.pos - w + len) % len]! : 0;
      this.sums[k] = this.sums[k]! + x - leaving;
    }
    this.ring[this.pos] = x;
    this.pos = (this.pos + 1) % len;
    this.seen++;
    let best = 0;
    for (let k = 0; k < this.scales.length; k++) {
      const w = this.scales[k]!;
      if (this.seen < w) continue;
      const mean = this.sums[k]! / w;
      const range = this.ranges[k]!;
      const n = range.count;
      if (n >= Math.max(16, 8 * w)) {
        const hi = range.max;
        const lo = range.min;
        // A constant history still has a scale: a millionth of its magnitude, so that any real change stands out.
        const span = Math.max(hi - lo, minSpan, 1e-6 * Math.max(Math.abs(hi), Math.abs(lo)), 1e-12);
        const outside = Math.max(mean - hi, lo - mean, 0) / span;
        // In Gaussian noise a new record passes the old range by about 1 / (4 ln m) of it, m = n / w being
        // the independent means seen; demand three times that, so a short history has to be beaten clearly.
        const novelty = outside - 0.75 / Math.log(n / w);
        if (novelty > best) {
          best = novelty;
          this.lastScale = w;
        }
      }
      const pending = this.pending[k]!;
      const slot = (this.seen - 1) % w;
      if (this.seen >= 2 * w) range.add(pending[slot]!);
      pending[slot] = mean;
    }
    return best;
  }

  get bytes(): number {
    return (
      8 * (this.ring.length + this.sums.length) +
      this.pending.reduce((a, p) => a + 8 * p.length, 0) +
      this.ranges.reduce((a, r) => a + r.bytes, 0)
    );
  }
}

/**
 * The daily envelope: for each time-of-day bucket, the min and max seen on each of the last
 * `days` days (a day's row is cleared when a new day takes its place).
 */
class DailyEnvelope {
  private readonly lo: Float32Array;
  private readonly hi: Float32Array;
  private readonly rowDay: Int32Array;
  private readonly slots: number;
  private readonly jitter: number;

  constructor(
    private readonly bucketMs: number,
    private readonly days: number,
  ) {
    this.slots = Math.round(DAY_MS / bucketMs);
    this.jitter = Math.max(1, Math.round(JITTER_MS / bucketMs));
    this.lo = new Float32Array(this.slots * days).fill(Number.NaN);
    this.hi = new Float32Array(this.slots * days).fill(Number.NaN);
    this.rowDay = new Int32Array(days).fill(-1);
  }

  /** Signed distance of x outside the envelope of earlier days around this time of day (0 inside); undefined before a full day. */
  distance(t: number, x: number): number | undefined {
    const day = Math.floor(t / DAY_MS);
    const slot = Math.floor((t - day * DAY_MS) / this.bucketMs) % this.slots;
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (let r = 0; r < this.days; r++) {
      const d = this.rowDay[r]!;
      if (d < 0 || d >= day || d < day - this.days) continue;
      for (let j = -this.jitter; j <= this.jitter; j++) {
        // Across midnight the neighbouring bucket belongs to the neighbouring day; the envelope is loose enough not to mind.
        const i = r * this.slots + ((slot + j + this.slots) % this.slots);
        if (this.lo[i]! < lo) lo = this.lo[i]!;
        if (this.hi[i]! > hi) hi = this.hi[i]!;
      }
    }
    if (!(hi >= lo)) return undefined;
    // Compared at the envelope's (single) precision, so that a value seen before is exactly inside.
    const v = Math.fround(x);
    return v > hi ? v - hi : v < lo ? v - lo : 0;
  }

  add(t: number, x: number): void {
    const day = Math.floor(t / DAY_MS);
    const slot = Math.floor((t - day * DAY_MS) / this.bucketMs) % this.slots;
    const r = day % this.days;
    if (this.rowDay[r] !== day) {
      if (this.rowDay[r]! > day) return; // an older day than the one held: out of order, ignore
      this.rowDay[r] = day;
      this.lo.fill(Number.NaN, r * this.slots, (r + 1) * this.slots);
      this.hi.fill(Number.NaN, r * this.slots, (r + 1) * this.slots);
    }
    const i = r * this.slots + slot;
    // NaN compares false, so the first value of a bucket always lands.
    if (!(x >= this.lo[i]!)) this.lo[i] = x;
    if (!(x <= this.hi[i]!)) this.hi[i] = x;
  }

  get bytes(): number {
    return 4 * (this.lo.length + this.hi.length + this.rowDay.length);
  }
}

/**
 * Rows that only teach: a range seen over fewer rows says little, and what is new in the first
 * hours is mostly just new. (Shorter than NAB's probationary period on any of its files, so the
 * benchmark is unaffected.)
 */
const WARMUP_ROWS = 100;

/** Rows used to infer the step: the median of the first few spacings. */
const STEP_SAMPLES = 8;

/** The online detector for one series. Feed rows in time order; see the module comment. */
export class AnomalyDetector {
  private readonly options: Required<AnomalyDetectorOptions>;
  private readonly level: MultiScaleNovelty;
  private readonly daily: MultiScaleNovelty;
  private readonly spread: MultiScaleNovelty | undefined;
  private readonly recent: SlidingRange;
  private envelope: DailyEnvelope | undefined;
  private readonly spacings: number[] = [];
  private stepMs: number | undefined;
  private lastT: number | undefined;
  private lastX: number | undefined;
  private kind: AnomalyKind = 'none';
  private rows = 0;

  constructor(options: AnomalyDetectorOptions = {}) {
    this.options = { ...DEFAULT_OPTIONS, ...options };
    const { scales, historyPoints, spreadScale, refractoryPoints } = this.options;
    if (scales.length === 0 || scales.some((w) => !Number.isInteger(w) || w < 1)) throw new Error('scales must be positive integers');
    this.level = new MultiScaleNovelty(scales, historyPoints);
    this.daily = new MultiScaleNovelty([1], historyPoints);
    this.spread = spreadScale > 0 ? new MultiScaleNovelty([spreadScale], historyPoints) : undefined;
    const size = Math.max(1, Math.round(refractoryPoints / 12));
    this.recent = new SlidingRange(size, Math.max(1, Math.round(refractoryPoints / size)));
  }

  /** The inferred spacing of the rows, in ms (undefined until a few rows have been seen). */
  get step(): number | undefined {
    return this.stepMs;
  }

  /** What gave the last row its score. */
  get lastKind(): AnomalyKind {
    return this.kind;
  }

  /** Adds one row (timestamp in ms, value) and returns its anomaly score in [0, 1]. */
  push(timestampMs: number, value: number): number {
    this.kind = 'none';
    if (!Number.isFinite(value) || !Number.isFinite(timestampMs)) return 0;
    this.rows++;
    const gap = this.lastT === undefined ? 0 : timestampMs - this.lastT;
    if (this.stepMs === undefined && gap > 0) this.learnStep(gap);
    let evidence = this.level.push(value);
    let kind: AnomalyKind = evidence > 0 ? (this.level.lastScale === 1 ? 'spike' : 'level') : 'none';

    if (this.envelope) {
      const distance = this.envelope.distance(timestampMs, value);
      if (distance !== undefined) {
        // Outside the envelope by a few percent of the series' range is noise, whatever the history says.
        const e = this.daily.push(distance, 0.02 * this.level.span);
        if (e > evidence) [evidence, kind] = [e, 'daily-pattern'];
      }
      this.envelope.add(timestampMs, value);
    }

    // A jump across missing points is not variability.
    if (this.spread && this.lastX !== undefined && (this.stepMs === undefined || gap <= 2 * this.stepMs)) {
      const e = this.spread.push(Math.abs(value - this.lastX));
      if (e > evidence) [evidence, kind] = [e, 'variability'];
    }
    this.lastT = timestampMs;
    this.lastX = value;

    // Score only what this row adds to the evidence of the last refractoryPoints rows.
    const already = this.recent.count > 0 ? Math.max(0, this.recent.max) : 0;
    this.recent.add(evidence);
    const fresh = evidence - already;
    if (fresh <= 0 || this.rows <= WARMUP_ROWS) return 0;
    this.kind = kind;
    return fresh / (fresh + SCORE_SCALE);
  }

  /** Approximate memory held by this detector, in bytes. */
  memoryBytes(): number {
    return this.level.bytes + this.daily.bytes + (this.spread?.bytes ?? 0) + this.recent.bytes + (this.envelope?.bytes ?? 0) + 200;
  }

  private learnStep(gap: number): void {
    this.spacings.push(gap);
    if (this.spacings.length < STEP_SAMPLES) return;
    const sorted = [...this.spacings].sort((a, b) => a - b);
    this.stepMs = sorted[Math.floor(sorted.length / 2)]!;
    this.spacings.length = 0;
    // A daily profile needs several rows per day; coarser series are judged on level and variability alone.
    const bucket = Math.max(this.stepMs, MIN_BUCKET_MS);
    if (this.options.seasonDays > 0 && DAY_MS / bucket >= 12) this.envelope = new DailyEnvelope(bucket, this.options.seasonDays);
  }
}

/** Scores a whole series (timestamps in ms) with a fresh detector; the result is what `push` returns row by row. */
export function scoreSeries(timestamps: readonly number[], values: readonly number[], options?: AnomalyDetectorOptions): number[] {
  if (timestamps.length !== values.length) throw new Error('timestamps and values differ in length');
  const detector = new AnomalyDetector(options);
  return timestamps.map((t, i) => detector.push(t, values[i]!));
}
