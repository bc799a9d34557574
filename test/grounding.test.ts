import { describe, expect, it } from 'vitest';
import { checkGrounding, sentences } from '../src/agents/grounding.ts';
import type { Evidence } from '../src/core/evidence.ts';

const ev = (
  id: string,
  service: string,
  summary: string,
  numbers: Record<string, number>,
  attributes: Record<string, string> = {},
): Evidence => ({
  id,
  tool: 't',
  kind: 'k',
  service,
  summary,
  numbers,
  attributes,
  window: { from: '', to: '' },
  query_id: 'q',
});

const evidence = [
  ev('so1', 'payment', 'payment: 31.9% errors (baseline 2.7%), p95 105 ms, 29 of 91 failed', {
    error_ratio: 0.3187,
    requests: 91,
    errors: 29,
    p95_ms: 105,
  }),
  ev(
    'rc1',
    'payment',
    'payment version 2.4.1 → 2.5.0 first seen at 05:18 UTC',
    { at_ms: 0 },
    { from_version: '2.4.1', to_version: '2.5.0' },
  ),
  ev('so2', 'checkout', 'checkout: 31.9% errors', { error_ratio: 0.319 }),
];
const services = ['payment', 'checkout', 'frontend', 'cart'];
const opts = { tolerance: 0.02, maxUnsupportedShare: 0.34 };

describe('grounding check', () => {
  it('keeps sentences whose numbers, versions, times and services are in the evidence', () => {
    const draft =
      'Payment 2.5.0 was rolled out at 05:18 UTC [rc1]. Since then payment fails 31.9% of requests, 29 of 91 [so1]. Checkout fails about 32% too [so2].';
    const { text, report } = checkGrounding(draft, evidence, services, opts);
    expect(report).toMatchObject({ sentences: 3, supported: 3, removed: 0, passed: true });
    expect(text).toContain('29 of 91');
  });

  it('removes a sentence with a made-up number and counts it', () => {
    const draft = 'Payment fails 31.9% of requests [so1]. The error budget burned 47% faster than usual [so1]. Checkout follows [so2].';
    const { text, report } = checkGrounding(draft, evidence, services, opts);
    expect(report.removed).toBe(1);
    expect(report.unsupported_numbers).toEqual(['47%']);
    expect(text).not.toContain('47%');
    expect(report.passed).toBe(true);
  });

  it('flags invented versions, times, services and citations', () => {
    const draft = 'Payment 2.6.0 broke at 04:02 [rc1]. The billing-gateway service is down [so1]. Cart is overloaded [so1]. See [zz9].';
    const { report } = checkGrounding(draft, evidence, services, opts);
    expect(report.unsupported_entities).toEqual(expect.arrayContaining(['2.6.0', '04:02', 'billing-gateway', 'cart']));
    expect(report.unknown_citations).toEqual(['zz9']);
    expect(report.passed).toBe(false);
  });

  it('does not take digits inside ids and hashes as support, but takes a number a log line states', () => {
    const th = ev(
      'th1',
      'payment',
      'errors start in payment in 71 of 71 failed traces',
      { traces: 71 },
      { example_trace: '4bf92f3577b34da6a3ce929d0e0e4736999827', message: 'dial tcp 10.0.3.7:6379: connect: connection refused' },
    );
    const withIds = [
      ...evidence,
      { ...th, examples: ['payment ERROR charge 4f1a0c9e failed for order 558812 after 3 attempts (HTTP 502)'] },
    ];
    const made = checkGrounding('About 987654 orders were lost [th1]. Payment fails 31.9% [so1].', withIds, services, opts).report;
    expect(made.unsupported_numbers).toEqual(['987654']);
    // Near an id's digits (999827 ± 2%) is still not supported; quoted numbers count as written.
    expect(
      checkGrounding('Order 999000 failed [th1]. Payment fails 31.9% [so1].', withIds, services, opts).report.unsupported_numbers,
    ).toEqual(['999000']);
    const quoted = checkGrounding(
      'Order 558812 failed with HTTP 502 [th1]. Redis listens on 6379 [th1]. Payment fails 31.9% [so1].',
      withIds,
      services,
      opts,
    ).report;
    expect(quoted).toMatchObject({ removed: 0, unsupported_numbers: [] });
  });

  it('reads a number at the end of a sentence, and not the number of a list item', () => {
    const end = checkGrounding('Payment fails 31.9% [so1]. Orders lost: 987654.', evidence, services, opts).report;
    expect(end.unsupported_numbers).toEqual(['987654']);
    const list = checkGrounding('Next steps [so1]:\n4. Roll back payment.\n5. Watch 31.9% fall to 2.7%.', evidence, services, opts);
    expect(list.report).toMatchObject({ sentences: 3, removed: 0 });
    expect(sentences('4. Roll back payment.\n12) Watch errors.')).toEqual(['4. Roll back payment.', '12) Watch errors.']);
  });

  it('fails a draft that cites nothing', () => {
    expect(checkGrounding('Payment is failing.', evidence, services, opts).report.passed).toBe(false);
  });

  it('splits sentences and list items', () => {
    expect(sentences('Cause: payment. Impact: checkout.\n- Roll back payment.\n- Watch errors.')).toEqual([
      'Cause: payment.',
      'Impact: checkout.',
      '- Roll back payment.',
      '- Watch errors.',
    ]);
  });
});
