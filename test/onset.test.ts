import { describe, expect, it } from 'vitest';
import {
  kindOfSignal,
  logSignals,
  onsetScore,
  type Point,
  rankOnsets,
  type Signal,
  type SpanMinute,
  theilSen,
  traceSignals,
} from '../src/analysis/onset.ts';

const MIN = 60_000;
const T = Date.UTC(2026, 10, 28, 10, 0);

/** Deterministic noise: a small linear congruential generator, roughly normal by summing uniforms. */
function noise(seed: number): () => number {
  let s = seed >>> 0;
  const u = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  return () => u() + u() + u() + u() - 2;
}

/** One point a minute from `from` to `to` (exclusive), as a scrape gives them. */
function series(from: number, to: number, f: (t: number) => number, seed = 1, sd = 1): Point[] {
  const n = noise(seed);
  const out: Point[] = [];
  for (let t = from; t < to; t += MIN) out.push({ t: t + 20_000, v: f(t) + sd * n() });
  return out;
}

const metric = (service: string, name: string, points: Point[], source = `${service}-pod-1`): Signal => ({
  service,
  source,
  modality: 'metrics',
  name,
  points,
});

/** The hour before T and five minutes after it. */
const around = (t: number, f: (t: number) => number, seed = 1, sd = 1) => series(t - 60 * MIN, t + 5 * MIN, f, seed, sd);

describe('onset scores on one-minute series', () => {
  it('scores a step at the onset with five points after it, and not a series that stays put', () => {
    const step = onsetScore(
      metric(
        'a',
        'load',
        around(T, (t) => (t >= T ? 130 : 100)),
      ),
      T,
    )!;
    // The yardstick is at least 5% of the level, so a 30% step scores about 30 / 6.5.
    expect(step.z).toBeGreaterThan(4);
    expect(step.change).toBeCloseTo(30, 0);
    const flat = onsetScore(
      metric(
        'a',
        'load',
        around(T, () => 100),
      ),
      T,
    )!;
    expect(Math.abs(flat.z)).toBeLessThan(3);
    // Fewer than two points after the onset: no score rather than a guess.
    expect(
      onsetScore(
        metric(
          'a',
          'load',
          series(T - 60 * MIN, T + MIN, () => 100),
        ),
        T,
      ),
    ).toBeUndefined();
  });

  it('does not call a slow trend a fault (a leak that keeps its pace), though a level comparison would', () => {
    const leak = around(T, (t) => 500 + (0.8 * (t - T)) / MIN, 2);
    const s = onsetScore(metric('a', 'memory', leak), T)!;
    expect(Math.abs(s.z)).toBeLessThan(3);
    expect(theilSen(leak.filter((p) => p.t < T)) * MIN).toBeCloseTo(0.8, 1);
    // The window's median is some 25 above the baseline's: what a level comparison would flag.
    const base = leak.filter((p) => p.t < T).map((p) => p.v);
    const cur = leak.filter((p) => p.t >= T).map((p) => p.v);
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
    expect(med(cur) - med(base)).toBeGreaterThan(20);
    // The same leak with a jump at the onset is found.
    const jump = around(T, (t) => 500 + (0.8 * (t - T)) / MIN + (t >= T ? 150 : 0), 2);
    expect(onsetScore(metric('a', 'memory', jump), T)!.z).toBeGreaterThan(3);
  });

  it('does not call a daily cycle a fault, at its steepest or at its peak', () => {
    const day = 24 * 60 * MIN;
    for (const phase of [0, 0.25]) {
      const at = T + phase * day;
      const cycle = (t: number) => 1000 + 400 * Math.sin((2 * Math.PI * (t - T)) / day);
      const s = onsetScore(metric('a', 'requests', around(at, cycle, 3, 5)), at)!;
      expect(Math.abs(s.z), `phase ${phase}`).toBeLessThan(3);
    }
  });

  it('tells a short fault from the next one eight minutes later', () => {
    const first = T;
    const second = T + 8 * MIN;
    const from = T - 70 * MIN;
    const to = second + 5 * MIN;
    // a: CPU up for four minutes from the first onset; b: latency up from the second.
    const signals = [
      metric(
        'a',
        'cpu usage',
        series(from, to, (t) => (t >= first && t < first + 4 * MIN ? 90 : 30), 4),
      ),
      metric(
        'b',
        'cpu usage',
        series(from, to, () => 30, 5),
      ),
      metric(
        'a',
        'server latency p95',
        series(from, to, () => 200, 6, 4),
      ),
      metric(
        'b',
        'server latency p95',
        series(from, to, (t) => (t >= second ? 900 : 200), 7, 4),
      ),
    ];
    const only = (t: number) => signals.map((s) => ({ ...s, points: s.points.filter((p) => p.t >= t - 60 * MIN && p.t < t + 5 * MIN) }));
    const atFirst = rankOnsets(only(first), first);
    expect(atFirst[0]).toMatchObject({ service: 'a', kind: 'cpu' });
    const atSecond = rankOnsets(only(second), second);
    expect(atSecond[0]).toMatchObject({ service: 'b', kind: 'latency/network' });
    // a's fault is over and in the baseline, which it does not widen: a did not change at the second onset.
    expect(atSecond.find((r) => r.service === 'a')!.own).toBeLessThan(3);
  });

  it('rolls pods up to their service, and discounts a signal every service moves on', () => {
    const signals = [
      metric(
        'a',
        'cpu usage',
        around(T, () => 30, 8),
        'a-pod-1',
      ),
      metric(
        'a',
        'cpu usage',
        around(T, (t) => (t >= T ? 80 : 30), 9),
        'a-pod-2',
      ),
      ...['a', 'b', 'c', 'd'].map((s, i) =>
        metric(
          s,
          'node network bytes',
          around(T, (t) => (t >= T ? 400 : 100), 10 + i),
        ),
      ),
    ];
    const ranked = rankOnsets(signals, T);
    expect(ranked[0]).toMatchObject({ service: 'a', kind: 'cpu' });
    expect(ranked[0]!.signals[0]).toMatchObject({ source: 'a-pod-2', peers: 1 });
    expect(ranked.find((r) => r.service === 'b')!.signals[0]!.peers).toBe(4);
  });

  it('weights down a caller whose latency a changed callee explains, with the trace graph', () => {
    const signals = [
      metric(
        'front',
        'server latency',
        around(T, (t) => (t >= T ? 900 : 100), 20, 3),
      ),
      metric(
        'db',
        'cpu usage',
        around(T, (t) => (t >= T ? 95 : 20), 21),
      ),
    ];
    expect(rankOnsets(signals, T)[0]!.service).toBe('front');
    const ranked = rankOnsets(signals, T, new Map([['front', new Set(['db'])]]));
    expect(ranked[0]!.service).toBe('db');
    expect(ranked[1]).toMatchObject({ service: 'front', explainedBy: 'db' });
  });

  it('works from traces only and from logs only', () => {
    const minutes: number[] = [];
    for (let t = T - 60 * MIN; t < T + 5 * MIN; t += MIN) minutes.push(t);
    const n = noise(30);
    const rows: SpanMinute[] = minutes.flatMap((m) => [
      { service: 'api', minute: m, server: 60, errors: 0, selfMs: [5, 6, 5, 7], gapMs: [] },
      {
        service: 'store',
        minute: m,
        server: 60,
        errors: 0,
        selfMs: [3, 3, 4, 3],
        gapMs: (m >= T ? [200, 210, 190] : [1, 2, 1]).map((v) => v + Math.abs(n())),
      },
    ]);
    const fromTraces = rankOnsets(traceSignals(rows), T);
    expect(fromTraces[0]).toMatchObject({ service: 'store', kind: 'latency/network' });
    expect(fromTraces[0]!.signals[0]!.name).toBe('call gap');
    const logs = minutes.flatMap((m) => [
      { service: 'api', minute: m, bad: 1 },
      { service: 'worker', minute: m, bad: m >= T ? 40 : 0 },
    ]);
    expect(rankOnsets(logSignals(logs), T)[0]).toMatchObject({ service: 'worker', kind: 'errors' });
  });

  it('says cpu when CPU rose with the latency it causes, and not when CPU fell', () => {
    const latency = metric(
      'a',
      'server latency p95',
      around(T, (t) => (t >= T ? 800 : 200), 40, 4),
    );
    const cpuUp = metric(
      'a',
      'cpu usage',
      around(T, (t) => (t >= T ? 90 : 30), 41),
    );
    const cpuDown = metric(
      'a',
      'cpu usage',
      around(T, (t) => (t >= T ? 5 : 30), 42),
    );
    expect(rankOnsets([latency, cpuUp], T)[0]!.kind).toBe('cpu');
    expect(rankOnsets([latency, cpuDown], T)[0]!.kind).toBe('latency/network');
  });

  it('names the kind from common words, and says anomaly for names it does not know', () => {
    expect(kindOfSignal('container_cpu_usage_seconds_total')).toBe('cpu');
    expect(kindOfSignal('jvm heap used')).toBe('memory');
    expect(kindOfSignal('http.server.duration (mean)')).toBe('latency/network');
    expect(kindOfSignal('call gap')).toBe('latency/network');
    expect(kindOfSignal('span errors')).toBe('errors');
    expect(kindOfSignal('widgets_frobnicated')).toBe('anomaly');
  });
});
