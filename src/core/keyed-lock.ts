/** Gives the lock back; calling it again does nothing. */
type Release = () => void;

/** A wait for a lock that ran out of time. */
export class LockTimeout extends Error {
  constructor(key: string, ms: number) {
    super(`waited ${Math.round(ms / 1000)} s for ${key} without getting it`);
    this.name = 'LockTimeout';
  }
}

interface Waiter<Tag> {
  tag: Tag;
  grant: (release: Release) => void;
}

interface Entry<Tag> {
  tag: Tag;
  queue: Waiter<Tag>[];
}

/**
 * One holder at a time per key ("one turn per thread", "one write per file").
 * Waiters queue in arrival order and are handed the lock when it is
 * released: nobody polls. A tag says what the holder (or a waiter) is doing,
 * so a caller can decide not to wait behind some kinds of work.
 */
export class KeyedLock<Tag extends string = string> {
  private readonly entries = new Map<string, Entry<Tag>>();

  /** What holds the key and what waits for it, in order (empty when free). */
  tags(key: string): Tag[] {
    const e = this.entries.get(key);
    return e ? [e.tag, ...e.queue.map((w) => w.tag)] : [];
  }

  /** The lock if it is free now, else undefined (no waiting). */
  tryAcquire(key: string, tag: Tag): Release | undefined {
    if (this.entries.has(key)) return undefined;
    this.entries.set(key, { tag, queue: [] });
    return this.releaser(key);
  }

  /** Waits for the key in turn; rejects with LockTimeout after `timeoutMs`, or when `signal` aborts. */
  acquire(key: string, tag: Tag, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<Release> {
    const now = this.tryAcquire(key, tag);
    if (now) return Promise.resolve(now);
    const entry = this.entries.get(key)!;
    return new Promise<Release>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const leave = (err: Error) => {
        const i = entry.queue.indexOf(waiter);
        if (i >= 0) entry.queue.splice(i, 1);
        if (timer) clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        reject(err);
      };
      const onAbort = () => leave(opts.signal?.reason instanceof Error ? opts.signal.reason : new Error('aborted'));
      const waiter: Waiter<Tag> = {
        tag,
        grant: (release) => {
          if (timer) clearTimeout(timer);
          opts.signal?.removeEventListener('abort', onAbort);
          resolve(release);
        },
      };
      entry.queue.push(waiter);
      if (opts.timeoutMs !== undefined) {
        const ms = opts.timeoutMs;
        timer = setTimeout(() => leave(new LockTimeout(key, ms)), ms);
      }
      if (opts.signal?.aborted) onAbort();
      else opts.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Runs `fn` holding the key, and releases it however `fn` ends. */
  async run<T>(key: string, fn: () => Promise<T>, opts: { tag?: Tag; timeoutMs?: number; signal?: AbortSignal } = {}): Promise<T> {
    const release = await this.acquire(key, opts.tag ?? ('' as Tag), opts);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  private releaser(key: string): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const entry = this.entries.get(key);
      const next = entry?.queue.shift();
      if (!entry || !next) {
        this.entries.delete(key);
        return;
      }
      entry.tag = next.tag;
      next.grant(this.releaser(key));
    };
  }
}
