import { describe, expect, it } from 'vitest';
import { groupingAccuracy } from '../src/tools/patterns/accuracy.ts';
import { isVariable, mask, PatternMiner, tokenize } from '../src/tools/patterns/miner.ts';
import { templateStatus } from '../src/tools/telemetry/log-patterns.ts';

describe('grouping accuracy', () => {
  it('counts a message right only when its group matches its true group exactly', () => {
    expect(groupingAccuracy(['a', 'a', 'b', 'b'], [1, 1, 2, 2])).toBe(1);
    expect(groupingAccuracy(['a', 'a', 'b', 'b'], [1, 1, 1, 2])).toBe(0);
    expect(groupingAccuracy(['a', 'a', 'b', 'c'], [1, 1, 2, 2])).toBe(0.5);
    expect(groupingAccuracy(['a', 'a', 'b'], [1, 2, 3])).toBe(1 / 3);
  });
});

describe('the template miner', () => {
  it('treats numbers, ids and dates as values and keeps wording', () => {
    expect(tokenize('uid=0 euid=0 ruser= rhost=host.example.com')).toEqual([
      'uid=',
      '0',
      'euid=',
      '0',
      'ruser=',
      'rhost=',
      'host.example.com',
    ]);
    expect(['10.0.0.1', 'blk_-1608999687919862906', 'Sun', 'Jul', '0x1f'].every(isVariable)).toBe(true);
    expect(['connection', 'refused', 'user=', 'INFO'].some(isVariable)).toBe(false);
    expect(mask(['(charge.js:84:31)', 'order', 'abc-123:'])).toEqual(['(<*>)', 'order', '<*>:']);
  });

  it('keeps messages that differ in wording apart and merges those that differ in values', () => {
    const m = new PatternMiner();
    const a = m.add('VM Started (Lifecycle Event)');
    const b = m.add('VM Paused (Lifecycle Event)');
    const c = m.add('Took 2.5 seconds to spawn the instance');
    const d = m.add('Took 0.3 seconds to spawn the instance');
    const e = m.add('stored block of 5.2 KB');
    const f = m.add('stored block of 93 B');
    expect(a).not.toBe(b);
    expect(c).toBe(d);
    expect(e).toBe(f);
    expect(m.templates().find((t) => t.id === c)!.text).toBe('Took <*> seconds to spawn the instance');
  });

  it('weights messages and bounds the number of templates', () => {
    const m = new PatternMiner({ maxTemplates: 3 });
    for (let i = 0; i < 10; i++) m.add(`distinct wording number ${'abcdefghij'[i]} here`, 5);
    const ts = m.templates();
    expect(ts.length).toBeLessThanOrEqual(4);
    expect(ts.reduce((n, t) => n + t.count, 0)).toBe(50);
    expect(ts.some((t) => t.text === '(other messages)')).toBe(true);
  });
});

describe('template status against the baseline', () => {
  it('tells new, grew, shrank, gone and steady apart by rate', () => {
    expect(templateStatus(10, 0, 30, 120).status).toBe('new');
    expect(templateStatus(40, 20, 30, 120).status).toBe('grew');
    expect(templateStatus(10, 40, 30, 120).status).toBe('steady');
    expect(templateStatus(1, 400, 30, 120).status).toBe('shrank');
    expect(templateStatus(0, 40, 30, 120).status).toBe('gone');
  });
});
