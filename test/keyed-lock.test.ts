import { describe, expect, it } from 'vitest';
import { KeyedLock, LockTimeout } from '../src/core/keyed-lock.ts';

describe('KeyedLock', () => {
  it('hands the key to waiters in arrival order, one at a time', async () => {
    const lock = new KeyedLock();
    const order: string[] = [];
    let inside = 0;
    const work = (name: string, ms: number) =>
      lock.run('thread-1', async () => {
        inside++;
        expect(inside).toBe(1);
        order.push(`${name}:start`);
        await new Promise((r) => setTimeout(r, ms));
        order.push(`${name}:end`);
        inside--;
      });
    await Promise.all([work('a', 20), work('b', 1), work('c', 5)]);
    expect(order).toEqual(['a:start', 'a:end', 'b:start', 'b:end', 'c:start', 'c:end']);
    expect(lock.tags('thread-1')).toEqual([]);
  });

  it('keeps keys apart', async () => {
    const lock = new KeyedLock();
    const a = lock.tryAcquire('a', 'turn');
    expect(a).toBeDefined();
    expect(lock.tryAcquire('b', 'turn')).toBeDefined();
    expect(lock.tryAcquire('a', 'turn')).toBeUndefined();
  });

  it('wakes a waiter as soon as the holder releases, without polling', async () => {
    const lock = new KeyedLock<'turn' | 'background'>();
    const release = lock.tryAcquire('t', 'background')!;
    let got = false;
    const waiting = lock.acquire('t', 'turn').then((r) => {
      got = true;
      return r;
    });
    expect(lock.tags('t')).toEqual(['background', 'turn']);
    await Promise.resolve();
    expect(got).toBe(false);
    release();
    release(); // a second release does nothing
    const r2 = await waiting;
    expect(got).toBe(true);
    expect(lock.tags('t')).toEqual(['turn']);
    r2();
    expect(lock.tags('t')).toEqual([]);
  });

  it('gives up after the timeout or on abort, and leaves the queue', async () => {
    const lock = new KeyedLock();
    const release = lock.tryAcquire('t', 'x')!;
    await expect(lock.acquire('t', 'y', { timeoutMs: 20 })).rejects.toBeInstanceOf(LockTimeout);
    const ac = new AbortController();
    const aborted = lock.acquire('t', 'z', { signal: ac.signal });
    ac.abort(new Error('client went away'));
    await expect(aborted).rejects.toThrow('client went away');
    expect(lock.tags('t')).toEqual(['x']);
    release();
    expect(lock.tags('t')).toEqual([]);
  });

  it('releases when the work throws', async () => {
    const lock = new KeyedLock();
    await expect(
      lock.run('t', async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(lock.tryAcquire('t', 'x')).toBeDefined();
  });
});
