import { describe, expect, it } from 'vitest';
import { logFields, quickLogFields } from '../src/otlp/fast-path.ts';
import { LogRecord } from '../src/otlp/schema.ts';
import { Rng } from '../src/demo/random.ts';

/** Random log records, mostly valid, often subtly wrong, sometimes odd but valid. */
function randomRecord(rng: Rng): unknown {
  // The first option is the ordinary valid one; it comes up most of the time.
  const pick = <T>(...xs: T[]) => (rng.chance(0.7) ? xs[0]! : xs[rng.int(xs.length)]!);
  const maybe = <T>(v: () => T) => (rng.chance(0.5) ? v() : undefined);
  const value = () =>
    pick<unknown>(
      { stringValue: 'hello' },
      { intValue: '42' },
      { intValue: '-7' },
      { intValue: 12 },
      { intValue: '4.5' },
      { boolValue: true },
      { boolValue: 'yes' },
      { doubleValue: 0.25 },
      { doubleValue: 'NaN' },
      { arrayValue: { values: [{ stringValue: 'a' }] } },
      { kvlistValue: { values: [{ key: 'k', value: { intValue: '1' } }] } },
      { bytesValue: 'aGVsbG8=' },
      { stringValue: 'a', intValue: '1' },
      {},
      null,
      'plain',
    );
  const rec: Record<string, unknown> = {
    timeUnixNano: maybe(() =>
      pick<unknown>('1763788680123456789', '0', '0001763788680123456789'.slice(0, 19), '9300000000000000000', '12x', 1763788680123, ''),
    ),
    observedTimeUnixNano: maybe(() => pick<unknown>('1763788680123456789', '00042', '-5')),
    severityNumber: maybe(() => pick<unknown>(9, 17, 0, 24, 25, -1, 9.5, '9')),
    severityText: maybe(() => pick<unknown>('INFO', '', 'x'.repeat(65), 3)),
    body: maybe(value),
    attributes: maybe(() =>
      pick<unknown>(
        [],
        [{ key: 'a', value: value() }],
        [
          { key: 'a', value: value() },
          { key: 'b', value: value() },
        ],
        [{ key: 'a' }],
        [{ key: 3, value: { stringValue: 'x' } }],
        [{ key: 'a', value: { stringValue: 'x' }, extra: 1 }],
        'nope',
      ),
    ),
    flags: maybe(() => pick<unknown>(0, 1, 257, -1, 2 ** 33, 1.5)),
    traceId: maybe(() => pick<unknown>('5B8EFFF798038103D269B633813FC60C', '0'.repeat(32), '', 'abc', 'g'.repeat(32), 7)),
    spanId: maybe(() => pick<unknown>('EEE19B7EC3C1B174', '0'.repeat(16), '', 'xyz')),
    droppedAttributesCount: maybe(() => pick<unknown>(0, 3)),
    somethingNew: maybe(() => 'ignored by receivers'),
  };
  for (const k of Object.keys(rec)) if (rec[k] === undefined) delete rec[k];
  return rng.chance(0.02) ? pick<unknown>(null, [], 'record', 5) : rec;
}

describe('the log-record fast path', () => {
  it('agrees with the zod schema on 20,000 random records', () => {
    const rng = new Rng(20261122);
    let fast = 0;
    let valid = 0;
    for (let i = 0; i < 20_000; i++) {
      const raw = randomRecord(rng);
      const quick = quickLogFields(raw);
      const parsed = LogRecord.safeParse(raw);
      if (parsed.success) valid++;
      if (quick !== undefined) {
        fast++;
        // Whatever the fast path accepts, zod accepts too, and the stored fields are the same.
        expect(parsed.success, JSON.stringify(raw)).toBe(true);
        expect(quick, JSON.stringify(raw)).toEqual(logFields(parsed.data!));
      }
    }
    // Both branches were exercised a fair amount.
    expect(fast).toBeGreaterThan(1000);
    expect(valid - fast).toBeGreaterThan(500);
    expect(20_000 - valid).toBeGreaterThan(5000);
  });

  it('takes the common exporter shape', () => {
    expect(
      quickLogFields({
        timeUnixNano: '1763788680123456789',
        severityNumber: 9,
        severityText: 'INFO',
        body: { stringValue: 'ok' },
        attributes: [
          { key: 'http.route', value: { stringValue: '/x' } },
          { key: 'retries', value: { intValue: '2' } },
        ],
        traceId: '5B8EFFF798038103D269B633813FC60C',
        spanId: 'EEE19B7EC3C1B174',
        flags: 257,
      }),
    ).toEqual({
      time: '1763788680123456789',
      severityNumber: 9,
      severityText: 'INFO',
      body: 'ok',
      attributes: { 'http.route': '/x', retries: '2' },
      traceId: '5b8efff798038103d269b633813fc60c',
      spanId: 'eee19b7ec3c1b174',
      flags: 1,
    });
  });
});
