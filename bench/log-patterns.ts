/**
 * Grouping accuracy of the log template miner on the LogHub samples, next to
 * Drain's published accuracy on the same systems, and mining speed.
 * Grouping accuracy (LogHub benchmark): a message counts as right when the
 * group it was put in holds exactly the messages of its true template.
 *
 *   npm run bench:patterns -- [--quick]
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { PatternMiner } from '../src/tools/patterns/miner.ts';
import { groupingAccuracy } from '../src/tools/patterns/accuracy.ts';
import { options, report, round } from './lib.ts';

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

const systems = opts.system ? [opts.system] : Object.keys(DRAIN);
const results: Record<string, { accuracy: number; drain: number; templates: number; true_templates: number }> = {};
let lines = 0;
let ms = 0;
for (const system of systems) {
  const rows = parse(fs.readFileSync(path.join(root, system, `${system}_2k.log_structured.csv`)), { columns: true }) as {
    Content: string;
    EventId: string;
  }[];
  const used = opts.quick ? rows.slice(0, 500) : rows;
  const miner = new PatternMiner();
  const started = performance.now();
  const predicted = used.map((r) => miner.add(r.Content));
  ms += performance.now() - started;
  lines += used.length;
  results[system] = {
    accuracy: round(
      groupingAccuracy(
        used.map((r) => r.EventId),
        predicted,
      ),
      3,
    ),
    drain: DRAIN[system]!,
    templates: miner.templates().length,
    true_templates: new Set(used.map((r) => r.EventId)).size,
  };
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
report('log-patterns', {
  quick: opts.quick,
  systems: results,
  mean_accuracy: round(mean(Object.values(results).map((r) => r.accuracy)), 4),
  drain_mean_accuracy: round(mean(systems.map((s) => DRAIN[s]!)), 4),
  lines_per_second: Math.round(lines / (ms / 1000)),
});
