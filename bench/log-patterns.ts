/**
 * Grouping accuracy of the log template miner on the LogHub samples, judged
 * leave-one-system-out, next to Drain's published accuracy, and mining speed.
 *
 * Grouping accuracy (LogHub benchmark): a message counts as right when the
 * group it was put in holds exactly the messages of its true template.
 *
 * Leave one system out: every setting of the miner is chosen on the other
 * systems (the grid point with the best mean accuracy over them), then the
 * held-out system is scored with it, so no system's score comes from
 * settings that saw it. The same choice made over all systems at once is
 * what the miner's defaults should be; the bench says whether they are.
 * Ties go to the grid point listed first, the one that merges the most.
 *
 *   npm run bench:patterns -- [--quick] [--system NAME]
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { DEFAULT_SETTINGS, type MinerOptions, type MinerSettings, PatternMiner } from '../src/tools/patterns/miner.ts';
import { groupingAccuracy } from '../src/tools/patterns/accuracy.ts';
import { options, report, round } from './lib.ts';

/** Drain's grouping accuracy on the 2k samples (Zhu et al., "Tools and Benchmarks for Automated Log Parsing", ICSE-SEIP 2019). */
const DRAIN: Record<string, number> = {
  HDFS: 0.998,
  Hadoop: 0.948,
  Spark: 0.92,
  Zookeeper: 0.967,
  OpenStack: 0.733,
  BGL: 0.963,
  Linux: 0.69,
  Apache: 1.0,
};
const opts = options({ system: { type: 'string', default: '' } });
const root = path.join(process.env.AIOPS_SHARED_DIR ?? path.resolve('../shared'), 'data', 'loghub-dev');
const systems = Object.keys(DRAIN);
if (opts.system && !systems.includes(opts.system)) throw new Error(`unknown system ${opts.system}; one of ${systems.join(', ')}`);
const heldOut = opts.system ? [opts.system] : systems;

/** Ascending in every setting, so that a tie goes to the point that merges the most. */
function grid(quick: boolean): MinerSettings[] {
  const out: MinerSettings[] = [];
  const similarity = quick ? [0.5, 0.7] : [0.5, 0.6, 0.7, 0.8];
  const prefixTokens = quick ? [1] : [0, 1, 2];
  const variableValues = quick ? [4, 8] : [3, 4, 6, 8, 12];
  const singletonShare = quick ? [0.5, 1] : [0.25, 0.5, 0.75, 1];
  for (const s of similarity)
    for (const p of prefixTokens)
      for (const k of variableValues)
        for (const r of singletonShare) out.push({ similarity: s, prefixTokens: p, variableValues: k, singletonShare: r });
  return out;
}

const data = new Map<string, { content: string[]; truth: string[] }>();
for (const system of systems) {
  const rows = parse(fs.readFileSync(path.join(root, system, `${system}_2k.log_structured.csv`)), { columns: true }) as {
    Content: string;
    EventId: string;
  }[];
  const used = opts.quick ? rows.slice(0, 500) : rows;
  data.set(system, { content: used.map((r) => r.Content), truth: used.map((r) => r.EventId) });
}

function mine(system: string, settings: MinerOptions): { accuracy: number; templates: number; lines: number; ms: number } {
  const { content, truth } = data.get(system)!;
  const started = performance.now();
  const miner = new PatternMiner(settings);
  const handles = content.map((c) => miner.add(c));
  const predicted = handles.map((h) => miner.templateOf(h).id);
  const ms = performance.now() - started;
  return { accuracy: groupingAccuracy(truth, predicted), templates: miner.templates().length, lines: content.length, ms };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const points = grid(opts.quick);
const accuracy = points.map((p) => systems.map((s) => mine(s, p).accuracy));

/** The grid point with the best mean accuracy over `on` (indexes into `systems`). */
function choose(on: number[]): number {
  let best = 0;
  let bestMean = -1;
  accuracy.forEach((row, i) => {
    const m = mean(on.map((j) => row[j]!));
    if (m > bestMean + 1e-12) {
      bestMean = m;
      best = i;
    }
  });
  return best;
}

const all = systems.map((_, j) => j);
const results: Record<
  string,
  { loso: number; loso_settings: MinerSettings; default: number; drain: number; templates: number; true_templates: number }
> = {};
let lines = 0;
let ms = 0;
for (const system of heldOut) {
  const j = systems.indexOf(system);
  const chosen = choose(all.filter((i) => i !== j));
  const byDefault = mine(system, DEFAULT_SETTINGS);
  lines += byDefault.lines;
  ms += byDefault.ms;
  results[system] = {
    loso: round(accuracy[chosen]![j]!, 3),
    loso_settings: points[chosen]!,
    default: round(byDefault.accuracy, 3),
    drain: DRAIN[system]!,
    templates: byDefault.templates,
    true_templates: new Set(data.get(system)!.truth).size,
  };
}
const cv = points[choose(all)]!;
const defaultsMatch = (Object.keys(cv) as (keyof MinerSettings)[]).every((k) => cv[k] === DEFAULT_SETTINGS[k]);

const rows = Object.entries(results);
const pad = (v: string | number, n: number) => String(v).padStart(n);
const means = {
  loso: round(mean(rows.map(([, r]) => r.loso)), 4),
  default: round(mean(rows.map(([, r]) => r.default)), 4),
  drain: round(mean(rows.map(([, r]) => r.drain)), 4),
};
const brief = (p: MinerSettings) => `${p.similarity}/${p.prefixTokens}/${p.variableValues}/${p.singletonShare}`;
const table = [
  `${'system'.padEnd(10)} ${pad('loso', 6)} ${pad('default', 8)} ${pad('drain', 6)} ${pad('templates', 10)} ${pad('true', 5)}  chosen without it (similarity/prefix/values/singletons)`,
  ...rows.map(
    ([s, r]) =>
      `${s.padEnd(10)} ${pad(r.loso.toFixed(3), 6)} ${pad(r.default.toFixed(3), 8)} ${pad(r.drain.toFixed(3), 6)} ${pad(r.templates, 10)} ${pad(r.true_templates, 5)}  ${brief(r.loso_settings)}`,
  ),
  `${'mean'.padEnd(10)} ${pad(means.loso.toFixed(4), 6)} ${pad(means.default.toFixed(4), 8)} ${pad(means.drain.toFixed(4), 6)}`,
];
process.stderr.write(
  `${table.join('\n')}\n(templates: found with the default settings ${brief(DEFAULT_SETTINGS)}; true: in the ground truth)\n${opts.quick ? '(quick: first 500 lines of each system, small grid)\n' : ''}`,
);
if (!opts.quick && !defaultsMatch)
  process.stderr.write(`note: the miner's defaults differ from the cross-validated choice ${JSON.stringify(cv)}\n`);

report('log-patterns', {
  quick: opts.quick,
  grid_points: points.length,
  systems: results,
  mean_loso_accuracy: means.loso,
  mean_default_accuracy: means.default,
  drain_mean_accuracy: means.drain,
  cross_validated_settings: cv,
  default_settings: DEFAULT_SETTINGS,
  defaults_match_cross_validation: defaultsMatch,
  lines_per_second: Math.round(lines / (ms / 1000)),
});
