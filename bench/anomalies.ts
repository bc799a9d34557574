/**
 * The online anomaly detector (src/analysis/anomaly.ts) on the NAB development series, scored
 * with NAB's standard profile (src/analysis/nab-score.ts): one threshold for the whole corpus,
 * the one that maximises the total, as NAB chooses it. Next to it: the null detector (0 by
 * construction), a windowed-Gaussian detector (NAB's baseline), and NAB's published full-benchmark
 * scores for reference. Also: the leave-one-series-out score of the one default tuned here (the
 * suppression horizon, with the variability window), points per second and memory per series.
 *
 *   npm run bench:anomalies -- [--quick] [--series SUBSTRING]
 */
import fs from 'node:fs';
import path from 'node:path';
import { AnomalyDetector, DEFAULT_OPTIONS, scoreSeries, type AnomalyDetectorOptions } from '../src/analysis/anomaly.ts';
import { bestThreshold, normalise, prepareSeries, scoreSeries as nabSeriesScore, type PreparedSeries } from '../src/analysis/nab-score.ts';
import { options, report, round } from './lib.ts';

/** NAB's published standard-profile scores on the whole benchmark (its README), for reference only. */
const PUBLISHED = { 'Numenta HTM': 70.5, 'windowed Gaussian': 39.6 };

const opts = options({ series: { type: 'string', default: '' } });
const root = path.join(process.env.AIOPS_SHARED_DIR ?? path.resolve('../shared'), 'data', 'nab-dev');

interface Series {
  name: string;
  category: string;
  timestamps: number[];
  values: number[];
  windows: [number, number][];
}

/** NAB writes times as "YYYY-MM-DD HH:MM:SS[.ffffff]", in UTC. */
const nabTime = (s: string) => Date.parse(`${s.trim().replace(' ', 'T').slice(0, 19)}Z`);

function loadCorpus(): Series[] {
  const windows = JSON.parse(fs.readFileSync(path.join(root, 'labels', 'combined_windows.json'), 'utf8')) as Record<
    string,
    [string, string][]
  >;
  let names = Object.keys(windows).sort();
  if (opts.series) names = names.filter((n) => n.includes(opts.series));
  // Quick: every fourth series, enough to exercise every path in seconds.
  if (opts.quick) names = names.filter((_, i) => i % 4 === 0);
  return names.map((name) => {
    const lines = fs.readFileSync(path.join(root, name), 'utf8').trim().split('\n').slice(1);
    const timestamps: number[] = [];
    const values: number[] = [];
    for (const line of lines) {
      const [t, v] = line.split(',');
      timestamps.push(nabTime(t!));
      values.push(Number(v));
    }
    return {
      name,
      category: path.dirname(name),
      timestamps,
      values,
      windows: windows[name]!.map(([a, b]) => [nabTime(a), nabTime(b)] as [number, number]),
    };
  });
}

/**
 * NAB's windowed-Gaussian baseline: the value's z-score against the mean and standard deviation
 * of the previous 1000 values, mapped to [0, 1) by |z| / (1 + |z|). That ranks rows as NAB's
 * 1 − Q(|z|) does (Q: the normal tail probability), without its ties where Q rounds to 0.
 */
function windowedGaussian(values: readonly number[], window = 1000): number[] {
  const ring = new Float64Array(window);
  let n = 0;
  let sum = 0;
  let sumSq = 0;
  return values.map((x, i) => {
    let score = 0;
    if (n > 0) {
      const mean = sum / n;
      const std = Math.sqrt(Math.max(0, sumSq / n - mean * mean)) || 1e-6;
      const z = Math.abs(x - mean) / std;
      score = z / (1 + z);
    }
    const slot = i % window;
    if (n === window) {
      sum -= ring[slot]!;
      sumSq -= ring[slot]! ** 2;
    } else n++;
    ring[slot] = x;
    sum += x;
    sumSq += x * x;
    return score;
  });
}

interface Result {
  score: number;
  threshold: number;
  raw: number;
  categories: Record<string, number>;
  series: Record<string, { raw: number; tp: number; fp: number; fn: number }>;
}

/** Scores one detector's output on the corpus at the threshold that maximises the total. */
function evaluate(corpus: Series[], prepared: PreparedSeries[], fixedThreshold?: number): Result {
  const windows = prepared.reduce((a, p) => a + p.windows, 0);
  const best = fixedThreshold === undefined ? bestThreshold(prepared) : { threshold: fixedThreshold, raw: Number.NaN };
  const series: Result['series'] = {};
  const byCategory = new Map<string, { raw: number; windows: number }>();
  let raw = 0;
  corpus.forEach((s, i) => {
    const r = nabSeriesScore(prepared[i]!, best.threshold);
    series[s.name] = { raw: round(r.raw, 3), tp: r.tp, fp: r.fp, fn: r.fn };
    raw += r.raw;
    const c = byCategory.get(s.category) ?? { raw: 0, windows: 0 };
    c.raw += r.raw;
    c.windows += prepared[i]!.windows;
    byCategory.set(s.category, c);
  });
  // A category without windows has no normalised score: its raw score (false positives only) is shown instead.
  const categories = Object.fromEntries(
    [...byCategory].map(([name, c]) => [name, c.windows ? round(normalise(c.raw, c.windows), 1) : round(c.raw, 2)]),
  );
  return { score: round(normalise(raw, windows), 1), threshold: round(best.threshold, 4), raw: round(raw, 3), categories, series };
}

const corpus = loadCorpus();
if (corpus.length === 0) throw new Error(`no series under ${root}${opts.series ? ` matching "${opts.series}"` : ''}`);
const prepare = (scores: number[][]) => corpus.map((s, i) => prepareSeries(s.timestamps, scores[i]!, s.windows));

// Ours, timed.
const points = corpus.reduce((a, s) => a + s.values.length, 0);
const started = performance.now();
const ourScores = corpus.map((s) => scoreSeries(s.timestamps, s.values));
const seconds = (performance.now() - started) / 1000;
const ours = evaluate(corpus, prepare(ourScores));

const gaussian = evaluate(corpus, prepare(corpus.map((s) => windowedGaussian(s.values))));
const nullDetector = evaluate(corpus, prepare(corpus.map((s) => s.values.map(() => 0))));

// Memory: what one detector holds after a whole series, at five-minute and one-minute steps.
const memory = (stepMs: number) => {
  const d = new AnomalyDetector();
  for (let i = 0; i < 20_000; i++) d.push(i * stepMs, Math.sin(i / 50));
  return d.memoryBytes();
};

/**
 * Leave one series out: for each series, the default (from a small grid) and the threshold are
 * chosen on all the other series, then the held-out series is scored with them; the held-out raw
 * scores are summed and normalised like the corpus score.
 */
function leaveOneOut(): { score: number; grid: AnomalyDetectorOptions[]; chosen: Record<string, number> } {
  const grid: AnomalyDetectorOptions[] = [];
  for (const refractoryPoints of [36, 72, 144, 288]) for (const spreadScale of [32, 64, 128]) grid.push({ refractoryPoints, spreadScale });
  const prepared = grid.map((g) => prepare(corpus.map((s) => scoreSeries(s.timestamps, s.values, g))));
  let raw = 0;
  const chosen: Record<string, number> = {};
  corpus.forEach((_, held) => {
    let pick = { g: 0, raw: Number.NEGATIVE_INFINITY, threshold: 0 };
    prepared.forEach((p, g) => {
      const b = bestThreshold(p.filter((_, i) => i !== held));
      if (b.raw > pick.raw) pick = { g, raw: b.raw, threshold: b.threshold };
    });
    raw += nabSeriesScore(prepared[pick.g]![held]!, pick.threshold).raw;
    const key = JSON.stringify(grid[pick.g]);
    chosen[key] = (chosen[key] ?? 0) + 1;
  });
  const windows = prepared[0]!.reduce((a, p) => a + p.windows, 0);
  return { score: round(normalise(raw, windows), 1), grid, chosen };
}
const loo = opts.quick ? undefined : leaveOneOut();

const err = process.stderr;
err.write(`NAB standard profile on ${corpus.length} nab-dev series (${points} points)\n`);
err.write(`  ours               ${ours.score.toFixed(1).padStart(5)}  (threshold ${ours.threshold})\n`);
if (loo) err.write(`  ours, leave-one-series-out ${loo.score.toFixed(1)}\n`);
err.write(`  windowed Gaussian  ${gaussian.score.toFixed(1).padStart(5)}  (threshold ${gaussian.threshold})\n`);
err.write(`  null               ${nullDetector.score.toFixed(1).padStart(5)}\n`);
err.write(
  `  published, whole NAB: ${Object.entries(PUBLISHED)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')}\n`,
);
err.write('per category (normalised; raw false-positive cost where a category has no windows)\n');
for (const c of Object.keys(ours.categories))
  err.write(`  ${c.padEnd(24)} ours ${ours.categories[c]}  windowed Gaussian ${gaussian.categories[c]}\n`);
err.write('per series (raw: detected windows weighted by earliness, minus misses and false positives)\n');
for (const s of corpus) {
  const o = ours.series[s.name]!;
  const g = gaussian.series[s.name]!;
  err.write(
    `  ${s.name.padEnd(60)} ours ${o.raw.toFixed(2).padStart(6)} (tp ${o.tp} fn ${o.fn} fp ${o.fp})  windowed Gaussian ${g.raw.toFixed(2).padStart(6)}\n`,
  );
}

report('anomalies', {
  quick: opts.quick,
  series_count: corpus.length,
  points,
  profile: 'standard',
  score: ours.score,
  threshold: ours.threshold,
  leave_one_series_out: loo ? { score: loo.score, chosen: loo.chosen } : null,
  windowed_gaussian: gaussian.score,
  windowed_gaussian_threshold: gaussian.threshold,
  null: nullDetector.score,
  published_whole_nab: PUBLISHED,
  categories: Object.fromEntries(
    Object.keys(ours.categories).map((c) => [c, { ours: ours.categories[c], windowed_gaussian: gaussian.categories[c] }]),
  ),
  series: Object.fromEntries(corpus.map((s) => [s.name, { ours: ours.series[s.name], windowed_gaussian: gaussian.series[s.name]!.raw }])),
  defaults: DEFAULT_OPTIONS,
  points_per_second: Math.round(points / seconds),
  memory_bytes_per_series: { five_minute: memory(300_000), one_minute: memory(60_000) },
});
