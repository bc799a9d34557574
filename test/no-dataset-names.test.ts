import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { WORKSPACES } from '../src/demo/topology.ts';
import { sharedDir } from './helpers/shared.ts';

/**
 * The root-cause code must work on systems it has never seen, so no source
 * file may name the services, pods or metrics of the real data sets it is
 * measured on. The names are read from the data at test time; names the
 * simulator's own topology also uses (it is ours) are exempt.
 */
const dataRoot = sharedDir('data', 'nezha-dev');

const serviceOfPod = (pod: string) => {
  const parts = pod.split('-');
  return parts.length > 2 ? parts.slice(0, -2).join('-') : pod;
};

function datasetNames(): { services: Set<string>; pods: Set<string>; metrics: Set<string> } {
  const services = new Set<string>();
  const pods = new Set<string>();
  const metrics = new Set<string>();
  const days = fs.readdirSync(dataRoot).filter((d) => fs.statSync(path.join(dataRoot, d)).isDirectory());
  for (const day of days) {
    const metricDir = path.join(dataRoot, day, 'metric');
    for (const file of fs.readdirSync(metricDir)) {
      const m = /^(.+)_metric\.csv$/.exec(file);
      if (!m) continue;
      pods.add(m[1]!);
      const header = fs.readFileSync(path.join(metricDir, file), 'utf8').split('\n', 1)[0]!;
      for (const column of header.split(',')) {
        const name = column.replace(/\s*\([^)]*\)\s*$/, '').trim();
        if (name && !['Time', 'TimeStamp', 'PodName'].includes(name)) metrics.add(name);
      }
    }
    for (const file of fs.readdirSync(path.join(dataRoot, day)).filter((f) => f.endsWith('fault_list.json'))) {
      const hours = JSON.parse(fs.readFileSync(path.join(dataRoot, day, file), 'utf8')) as Record<string, { inject_pod: string }[]>;
      for (const f of Object.values(hours).flat()) pods.add(f.inject_pod);
    }
  }
  for (const pod of pods) services.add(serviceOfPod(pod));
  return { services, pods, metrics };
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sourceFiles(p) : /\.(ts|js|json|ya?ml)$/.test(e.name) ? [p] : [];
  });
}

/** Known uses that are about the simulator, not the data: file → names (none today). */
const ALLOWED: Record<string, string[]> = {};

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('no data-set names in src/', () => {
  const names = datasetNames();
  const simulator = new Set(Object.values(WORKSPACES).flatMap((w) => w.services.map((s) => s.name)));
  const checked = [...names.services, ...names.pods, ...names.metrics].filter((n) => !simulator.has(n));
  // Whole names, as written: a name inside a longer one does not count (the simulator's field cpuUsage is not a metric CpuUsage).
  const pattern = new RegExp(`(?<![A-Za-z0-9_-])(?:${checked.map(escapeRegExp).join('|')})(?![A-Za-z0-9_-])`, 'g');

  it('reads the names from the data, and the check would catch one (so it can fail)', () => {
    expect(names.services.size).toBeGreaterThanOrEqual(10);
    expect(names.pods.size).toBeGreaterThanOrEqual(names.services.size);
    expect(names.metrics.size).toBeGreaterThanOrEqual(10);
    for (const n of [[...names.metrics][0]!, [...names.pods][0]!, checked.find((c) => names.services.has(c))!])
      expect(`if (name === '${n}') return;`.match(pattern), n).toEqual([n]);
  });

  it('no source file names a service, pod or metric of the data sets (the simulator topology exempt)', () => {
    const hits: string[] = [];
    for (const file of sourceFiles(path.resolve('src'))) {
      const relative = path.relative(process.cwd(), file);
      for (const m of fs.readFileSync(file, 'utf8').matchAll(pattern))
        if (!ALLOWED[relative]?.includes(m[0])) hits.push(`${relative}: ${m[0]}`);
    }
    expect(hits).toEqual([]);
  });
});
