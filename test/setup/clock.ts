import { vi } from 'vitest';

/**
 * The simulated telemetry depends on the clock, so a test that fails at one minute may pass at the next.
 * AIOPS_TEST_NOW replays a run at another time: Date (and so the service, the demo and the tokens) starts
 * there and moves on in real time. Timers stay real. Use the "Start at" time of the failing run.
 */
const pinned = process.env.AIOPS_TEST_NOW;
if (pinned) {
  const at = Date.parse(pinned);
  if (Number.isNaN(at)) throw new Error(`AIOPS_TEST_NOW is not a time: ${pinned}`);
  vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
  vi.setSystemTime(at);
}
