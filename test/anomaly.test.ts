import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AnomalyDetector, scoreSeries } from '../src/analysis/anomaly.ts';
import { bestThreshold, normalise, prepareSeries, scaledSigmoid, scoreSeries as nabScore } from '../src/analysis/nab-score.ts';
import { runCli } from './helpers/cli.ts';

const DAY = 86_400_000;
const MIN5 = 300_000;
const START = Date.UTC(2024, 0, 1);

/** Deterministic normal noise (mulberry32 + Box–Muller), so a failure replays. */
function noise(seed: number): () => number {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** A noisy daily cycle: low at night, a peak in the afternoon (50 ± 30, noise σ = 2). */
function dailySeries(days: number, stepMs = MIN5, seed = 1): { t: number[]; v: number[] } {
  const rand = noise(seed);
  const t: number[] = [];
  const v: number[] = [];
  for (let x = START; x < START + days * DAY; x += stepMs) {
    t.push(x);
    v.push(50 - 30 * Math.cos((2 * Math.PI * (x % DAY)) / DAY) + 2 * rand());
  }
  return { t, v };
}

const maxOf = (xs: number[]) => xs.reduce((a, b) => Math.max(a, b), 0);
const indexAt = (t: number[], at: number) => t.findIndex((x) => x >= at);

describe('the anomaly detector', () => {
  it('scores a spike in a noisy daily cycle high, and the rest low', () => {
    const { t, v } = dailySeries(10);
    // At 03:00 the cycle is near its low (about 24): 60 is well inside the series' range, but not at that hour.
    const spike = indexAt(t, START + 8 * DAY + 3 * 3_600_000);
    v[spike] = 60;
    const scores = scoreSeries(t, v);
    expect(scores[spike]).toBeGreaterThan(0.8);
    const learned = indexAt(t, START + 3 * DAY);
    const elsewhere = scores.filter((_, i) => i >= learned && i !== spike);
    expect(maxOf(elsewhere)).toBeLessThan(0.5);
  });

  it('does not alarm on the normal daily peak once the cycle is learned', () => {
    const { t, v } = dailySeries(10, MIN5, 2);
    const scores = scoreSeries(t, v);
    // The first day's peak is new; from the third day on it is expected.
    const peaks = t.map((x, i) => [x, i] as const).filter(([x]) => x >= START + 2 * DAY && Math.abs((x % DAY) - DAY / 2) < 2 * 3_600_000);
    expect(peaks.length).toBeGreaterThan(100);
    expect(maxOf(peaks.map(([, i]) => scores[i]!))).toBeLessThan(0.3);
  });

  it('detects a level shift at its onset and stops firing once it persists', () => {
    const rand = noise(3);
    const t = Array.from({ length: 3000 }, (_, i) => START + i * MIN5);
    const v = t.map((_, i) => 100 + rand() + (i >= 2000 ? 8 : 0));
    const scores = scoreSeries(t, v);
    const onset = maxOf(scores.slice(2000, 2004));
    expect(onset).toBeGreaterThan(0.9);
    // Gaussian noise alone makes rare records (about one row in ten thousand reaches 0.5), well below the shift.
    const before = scores.slice(600, 2000);
    expect(before.filter((s) => s >= 0.5).length).toBeLessThanOrEqual(2);
    expect(maxOf(before)).toBeLessThan(onset - 0.2);
    // Half a day later the new level is the norm.
    expect(maxOf(scores.slice(2150))).toBeLessThan(0.3);
  });

  it('gives no false alarm on a flat line with tiny noise', () => {
    const rand = noise(4);
    const t = Array.from({ length: 4000 }, (_, i) => START + i * MIN5);
    const v = t.map(() => 45 + 0.001 * rand());
    const scores = scoreSeries(t, v);
    expect(maxOf(scores.slice(600))).toBeLessThan(0.5);
  });

  it('is online: changing later rows never changes earlier scores', () => {
    const { t, v } = dailySeries(6, MIN5, 5);
    const before = scoreSeries(t, v);
    const changed = v.map((x, i) => (i >= 1200 ? x * 3 + 40 : x));
    const after = scoreSeries(t, changed);
    expect(after.slice(0, 1200)).toEqual(before.slice(0, 1200));
    expect(after.slice(1200)).not.toEqual(before.slice(1200));
    // And a detector fed row by row gives what the whole-array helper gives.
    const d = new AnomalyDetector();
    expect(t.map((x, i) => d.push(x, v[i]!))).toEqual(before);
  });

  it.each([
    ['one-minute', 60_000],
    ['five-minute', MIN5],
  ])('works on %s data: infers the step and finds the spike', (_, step) => {
    const { t, v } = dailySeries(8, step, 6);
    const spike = indexAt(t, START + 6 * DAY + 2 * 3_600_000);
    v[spike] = 62;
    const d = new AnomalyDetector();
    const scores = t.map((x, i) => d.push(x, v[i]!));
    expect(d.step).toBe(step);
    expect(scores[spike]).toBeGreaterThan(0.8);
    expect(maxOf(scores.filter((_, i) => i >= indexAt(t, START + 3 * DAY) && i !== spike))).toBeLessThan(0.5);
    expect(d.memoryBytes()).toBeLessThan(64 * 1024);
  });

  it('copes with missing points', () => {
    const rand = noise(7);
    const full = dailySeries(10, MIN5, 8);
    // Drop one row in ten at random and a two-hour hole on day 5.
    const hole = [START + 5 * DAY + 10 * 3_600_000, START + 5 * DAY + 12 * 3_600_000];
    const keep = full.t.map((x) => (x < hole[0]! || x >= hole[1]!) && rand() > -1.28);
    const t = full.t.filter((_, i) => keep[i]);
    const v = full.v.filter((_, i) => keep[i]);
    expect(t.length).toBeLessThan(full.t.length * 0.95);
    const spike = indexAt(t, START + 8 * DAY + 3 * 3_600_000);
    v[spike] = 60;
    const d = new AnomalyDetector();
    const scores = t.map((x, i) => d.push(x, v[i]!));
    expect(d.step).toBe(MIN5);
    expect(scores[spike]).toBeGreaterThan(0.8);
    expect(maxOf(scores.filter((_, i) => i >= indexAt(t, START + 3 * DAY) && i !== spike))).toBeLessThan(0.5);
  });

  it('says nothing while it learns: the first 100 rows score 0', () => {
    const t = Array.from({ length: 500 }, (_, i) => START + i * MIN5);
    const v = t.map((_, i) => (i === 50 || i === 300 ? 500 : i === 400 ? 1500 : 10 + (i % 3)));
    const scores = scoreSeries(t, v);
    expect(maxOf(scores.slice(0, 100))).toBe(0);
    // What it learned counts: the spike at row 50 makes the same one at row 300 unremarkable, a larger one not.
    expect(scores[300]).toBe(0);
    expect(scores[400]).toBeGreaterThan(0.8);
  });

  it('skips values that are not numbers', () => {
    const d = new AnomalyDetector();
    expect(d.push(START, Number.NaN)).toBe(0);
    expect(d.lastKind).toBe('none');
  });
});

describe('NAB scoring (standard profile)', () => {
  // 100 rows: rows 0–14 are the probationary period; one window over rows 40–49.
  const t = Array.from({ length: 100 }, (_, i) => i * 1000);
  const window: [number, number] = [40_000, 49_000];
  const at = (...rows: number[]) => t.map((_, i) => (rows.includes(i) ? 1 : 0));
  const raw = (scores: number[]) => nabScore(prepareSeries(t, scores, [window]), 0.5).raw;

  it('weighs a detection by how early it comes in its window', () => {
    expect(raw(at(40))).toBeCloseTo(1, 6);
    // At the last row the sigmoid is near its zero: a late detection still beats a miss.
    expect(raw(at(49))).toBeCloseTo(scaledSigmoid(-0.1) / scaledSigmoid(-1), 6);
    expect(raw(at(49))).toBeGreaterThan(0.2);
    expect(raw(at(49))).toBeLessThan(raw(at(45)));
    // Only the first detection of a window counts.
    expect(raw(at(40, 41, 49))).toBeCloseTo(1, 6);
  });

  it('costs a false positive 0.11 far from windows, less just after one', () => {
    expect(raw(at(40, 20))).toBeCloseTo(1 - 0.11, 6);
    const justAfter = raw(at(40, 50)) - 1;
    expect(justAfter).toBeLessThan(0);
    expect(justAfter).toBeGreaterThan(-0.05);
    expect(raw(at(40, 90)) - 1).toBeLessThan(justAfter);
    // The probationary period is not scored.
    expect(raw(at(40, 5))).toBeCloseTo(1, 6);
  });

  it('costs a missed window 1 and normalises null to 0, perfect to 100', () => {
    expect(raw(at())).toBe(-1);
    expect(raw(at(20))).toBeCloseTo(-1.11, 6);
    expect(normalise(-1, 1)).toBe(0);
    expect(normalise(1, 1)).toBe(100);
  });

  it('chooses the one threshold that maximises the corpus total', () => {
    const scores = t.map((_, i) => (i === 42 ? 0.9 : i === 20 ? 0.95 : i === 60 ? 0.6 : 0.1));
    const best = bestThreshold([prepareSeries(t, scores, [window])]);
    // 0.9 catches the window and pays for the 0.95 false positive; lower ones only add costs.
    expect(best.threshold).toBe(0.9);
    expect(best.raw).toBeCloseTo(raw(at(42)) - 0.11, 6);
  });
});

describe('aiops anomalies', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aiops-anomalies-'));
  const { t, v } = dailySeries(5, MIN5, 9);
  const spike = indexAt(t, START + 4 * DAY + 3 * 3_600_000);
  v[spike] = 60;
  const csv = `timestamp,value\n${t.map((x, i) => `${new Date(x).toISOString().replace('T', ' ').slice(0, 19)},${v[i]!.toFixed(3)}`).join('\n')}\n`;
  const file = path.join(dir, 'series.csv');
  fs.writeFileSync(file, csv);

  it('prints every row with its score, the spike scoring highest', async () => {
    const r = await runCli(['anomalies', file], {});
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('timestamp,value,score');
    expect(lines).toHaveLength(t.length + 1);
    const scores = lines.slice(1).map((l) => Number(l.split(',')[2]));
    // After the first two days (while everything is new, scores mean little).
    const learned = scores.slice(indexAt(t, START + 2 * DAY));
    expect(learned.indexOf(Math.max(...learned)) + indexAt(t, START + 2 * DAY)).toBe(spike);
    expect(scores[spike]).toBeGreaterThan(0.8);
  });

  it('prints JSON lines above a threshold, from a file or standard input', async () => {
    const r = await runCli(['anomalies', '-', '--json', '--threshold', '0.8'], {}, csv);
    expect(r.code).toBe(0);
    const rows = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { timestamp: string; value: number; score: number; kind: string });
    expect(rows.map((x) => x.timestamp)).toContain(new Date(t[spike]!).toISOString());
    expect(rows.every((x) => x.score >= 0.8)).toBe(true);
  });

  it('exits 2 and names the line of a malformed file', async () => {
    const bad = path.join(dir, 'bad.csv');
    fs.writeFileSync(bad, 'timestamp,value\n2024-01-01 00:00:00,1\n2024-01-01 00:05:00,2\nyesterday,3\n');
    const r = await runCli(['anomalies', bad], {});
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('line 4');
    expect(r.stderr).toContain('"yesterday" is not a timestamp');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const help = await runCli(['anomalies', '--help'], {});
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: aiops anomalies/);
  });
});

describe('src/analysis', () => {
  it('is pure statistics: imports only node: modules and its own files', () => {
    const dir = path.resolve('src/analysis');
    for (const f of fs.readdirSync(dir)) {
      const text = fs.readFileSync(path.join(dir, f), 'utf8');
      for (const m of text.matchAll(/^\s*(?:import|export)\s[^'"]*from\s+['"]([^'"]+)['"]/gm)) {
        expect(m[1]!.startsWith('node:') || /^\.\/[\w-]+\.ts$/.test(m[1]!), `${f} imports ${m[1]}`).toBe(true);
      }
    }
  });
});
