import fs from 'node:fs';
import path from 'node:path';
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

/** Mines `lines` and returns each line's template text. */
function mine(lines: string[], miner = new PatternMiner()): string[] {
  const handles = lines.map((l) => miner.add(l));
  return handles.map((h) => miner.templateOf(h).text);
}

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
    expect(mask(['(charge.js:84:31)', 'order', 'abc-123:'])).toEqual(['(charge.js:<*>)', 'order', '<*>:']);
    // A key glued to its value stays wording: `depth:3` and `width:3` are different things.
    expect(mask(['depth:3', 'width:12', '10.1.2.3:8080', '12:30:01'])).toEqual(['depth:<*>', 'width:<*>', '<*>', '<*>']);
  });

  it('reads a number glued to a unit or punctuation as one value', () => {
    const texts = mine([
      'upload done: 5.2KB in 12ms (42) id=17, code 0x1F:',
      'upload done: 800B in 3ms (7) id=9, code 0xA0:',
      'upload done: 1.5GB in 2.5s (1200) id=3, code 0x00:',
    ]);
    expect(new Set(texts).size).toBe(1);
    expect(texts[0]).toBe('upload done: <*> in <*> (<*>) id=<*>, code <*>:');
    // A unit standing apart from its number belongs to it too.
    expect(mine(['stored block of 5.2 KB', 'stored block of 93 B'])).toEqual(['stored block of <*>', 'stored block of <*>']);
  });

  it('turns a position of varying names into a variable and keeps the wording around it', () => {
    const users = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy'];
    const hosts = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta', 'iota'].map((h) => `${h}.example.org`);
    const lines: string[] = [];
    // Each user and host recurs (six or seven logins each), yet the positions hold many names: variables.
    for (let i = 0; i < 60; i++) lines.push(`accepted login for ${users[i % users.length]} from ${hosts[i % hosts.length]} via console`);
    const texts = mine(lines);
    expect(new Set(texts)).toEqual(new Set(['accepted login for <*> from <*> via console']));
    // Names seen once each vary as values do, even in a handful of lines.
    expect(mine(['lock taken by alice on queue', 'lock taken by bob on queue', 'lock taken by carol on queue'])).toEqual(
      Array(3).fill('lock taken by <*> on queue'),
    );
  });

  it('keeps two events of the same length apart when each of their words recurs', () => {
    const lines: string[] = [];
    for (let i = 0; i < 20; i++) lines.push(`cache ${i % 2 ? 'warmed' : 'flushed'} for orders table in ${i}ms`);
    for (let i = 0; i < 6; i++) lines.push(`worker ${i} ${i % 3 ? 'joined' : 'left'} the pool`);
    const texts = new Set(mine(lines));
    expect(texts).toEqual(
      new Set([
        'cache warmed for orders table in <*>',
        'cache flushed for orders table in <*>',
        'worker <*> joined the pool',
        'worker <*> left the pool',
      ]),
    );
  });

  it('keeps unrelated messages of the same length apart', () => {
    const texts = mine(['disk quota exceeded on volume', 'reloading configuration from defaults now', 'disk quota exceeded on volume']);
    expect(texts[0]).toBe('disk quota exceeded on volume');
    expect(texts[1]).toBe('reloading configuration from defaults now');
  });

  it('puts lists of values of any length in one template', () => {
    const texts = mine(['deleted blocks 1 2 3 from node7', 'deleted blocks 4 from node2', 'deleted blocks 5 6 from node9']);
    expect(new Set(texts)).toEqual(new Set(['deleted blocks <*> from <*>']));
  });

  it('judges early lines with what came after them', () => {
    const m = new PatternMiner();
    const first = m.add('session opened for guest on tty');
    expect(m.templateOf(first).text).toBe('session opened for guest on tty');
    for (const user of ['amy', 'ben', 'cid', 'dan', 'eve', 'fay', 'gus', 'hal', 'ida']) m.add(`session opened for ${user} on tty`);
    expect(m.templateOf(first).text).toBe('session opened for <*> on tty');
    expect(m.templates()).toHaveLength(1);
    expect(m.templates()[0]!.count).toBe(10);
  });

  it('weights messages and bounds the memory it keeps', () => {
    const m = new PatternMiner({ maxTemplates: 3 });
    for (let i = 0; i < 10; i++) m.add(`distinct wording number ${'abcdefghij'[i]} here`, 5);
    const ts = m.templates();
    expect(ts.length).toBeLessThanOrEqual(4);
    expect(ts.reduce((n, t) => n + t.count, 0)).toBe(50);
    expect(ts.some((t) => t.text === '(other messages)')).toBe(true);
    // Past the bound, a message that repeats a template's wording still joins it.
    const b = new PatternMiner({ maxTemplates: 2 });
    b.add('job 1 finished');
    b.add('job 2 failed');
    const late = b.add('job 3 finished: all good');
    const matching = b.add('job 44 finished');
    expect(b.templateOf(matching).text).toBe('job <*> finished');
    expect(b.templateOf(late).text).toBe('(other messages)');
  });

  it('holds no words learned from the benchmark logs', () => {
    const dir = path.resolve('src/tools/patterns');
    const source = fs
      .readdirSync(dir)
      .map((f) => fs.readFileSync(path.join(dir, f), 'utf8'))
      .join('\n');
    // System names of the development sets and words distinctive of their messages.
    for (const word of [
      'HDFS',
      'Hadoop',
      'Spark',
      'Zookeeper',
      'OpenStack',
      'BGL',
      'Linux',
      'Apache',
      'PacketResponder',
      'blk_',
      'TaskAttempt',
      'container_',
      'BlockManager',
      'QuorumPeer',
      'Lifecycle',
      'instance:',
      'ciod',
      'torus',
      'rhost',
      'sshd',
      'cupsd',
      'jk2_init',
      'workerEnv',
      'session opened',
    ]) {
      expect(source.toLowerCase(), word).not.toContain(word.toLowerCase());
    }
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
