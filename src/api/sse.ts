import type { SSEStreamingApi } from 'hono/streaming';
import { KeyedLock } from '../core/keyed-lock.ts';
import type { ChatEvent } from '../core/events.ts';

/**
 * The service's event stream on an SSE connection: events written in the
 * order they were emitted (each with `v` and an increasing id), none after
 * the client left. `flushed` resolves when every event so far is written.
 */
export function eventWriter(stream: SSEStreamingApi): { emit: (e: ChatEvent) => void; flushed: () => Promise<void> } {
  const writes = new KeyedLock();
  let seq = 0;
  let last: Promise<void> = Promise.resolve();
  return {
    emit: (e) => {
      const id = String(++seq);
      last = writes.run('sse', async () => {
        if (!stream.aborted) await stream.writeSSE({ event: e.event, id, data: JSON.stringify({ v: 1, ...e.data }) });
      });
    },
    flushed: () => last.catch(() => undefined),
  };
}
