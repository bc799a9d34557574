import { describe, expect, it } from 'vitest';
import { bootstrapDifference, comparePaired, mcnemarExact, quantile, seededRandom } from '../src/evals/stats.ts';

describe('eval statistics', () => {
  it('McNemar exact: the two-sided binomial tail of the discordant pairs', () => {
    expect(mcnemarExact(0, 0)).toBe(1);
    expect(mcnemarExact(3, 3)).toBe(1);
    // 10 discordant pairs all one way: 2 * 0.5^10.
    expect(mcnemarExact(10, 0)).toBeCloseTo(2 / 1024, 12);
    expect(mcnemarExact(0, 10)).toBeCloseTo(2 / 1024, 12);
    // b=1, c=9: 2 * (1 + 10) / 1024.
    expect(mcnemarExact(1, 9)).toBeCloseTo(22 / 1024, 12);
    // Scipy's binomtest(2, 12, 0.5).pvalue = 0.03857421875.
    expect(mcnemarExact(2, 10)).toBeCloseTo(0.03857421875, 10);
    // Large counts stay finite and in [0, 1].
    const p = mcnemarExact(480, 520);
    expect(p).toBeGreaterThan(0.2);
    expect(p).toBeLessThanOrEqual(1);
  });

  it('a seeded generator repeats itself and spreads over [0, 1)', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(xs);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    expect(xs.reduce((s, x) => s + x, 0) / xs.length).toBeCloseTo(0.5, 1);
  });

  it('quantiles interpolate between ranks', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([5], 0.95)).toBe(5);
    expect(quantile([0, 10], 0.25)).toBe(2.5);
  });

  it('the bootstrap interval is deterministic, holds the observed difference, and excludes 0 for a clear gap', () => {
    const a = Array.from({ length: 40 }, (_, i) => (i < 30 ? 1 : 0));
    const b = Array.from({ length: 40 }, (_, i) => (i < 12 ? 1 : 0));
    const one = bootstrapDifference(a, b, { seed: 7 });
    expect(bootstrapDifference(a, b, { seed: 7 })).toEqual(one);
    expect(one.diff).toBeCloseTo(-0.45, 10);
    expect(one.low).toBeLessThan(one.diff);
    expect(one.high).toBeGreaterThan(one.diff);
    expect(one.high).toBeLessThan(0);
    // No difference at all: a zero-width interval at 0.
    expect(bootstrapDifference(a, a, { seed: 7 })).toEqual({ diff: 0, low: 0, high: 0 });
    expect(() => bootstrapDifference([1], [1, 0])).toThrow(/same cases/);
  });

  it('paired comparison counts won and lost cases on the cases both ran, and lists the changed ones', () => {
    const a = new Map([
      ['c1', true],
      ['c2', true],
      ['c3', false],
      ['c4', true],
      ['only-a', true],
    ]);
    const b = new Map([
      ['c1', true],
      ['c2', false],
      ['c3', true],
      ['c4', false],
      ['only-b', false],
    ]);
    const c = comparePaired(a, b);
    expect(c).toMatchObject({ cases: 4, won: 1, lost: 2, ties: 1, pass_rate_a: 0.75, pass_rate_b: 0.5 });
    expect(c.mcnemar_p).toBe(1);
    expect(c.changed).toEqual([
      { case: 'c2', a: true, b: false },
      { case: 'c3', a: false, b: true },
      { case: 'c4', a: true, b: false },
    ]);
    expect(c.difference.diff).toBeCloseTo(-0.25, 10);
  });
});
