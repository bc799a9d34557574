/**
 * OTLP log ingest into embedded ClickHouse, through the real route
 * (auth, body reading, validation, conversion, INSERT), and the cost of
 * authentication: the same route with a verifier that accepts without
 * checking, plus the cost of verifying a token the service has not seen.
 *
 *   npm run bench:ingest -- [--records 500000] [--batch 1000] [--concurrency 4] [--quick]
 */
import { createApp } from '../src/api/app.ts';
import type { TokenVerifier } from '../src/auth/verifier.ts';
import { benchService, drive, options, report, round } from './lib.ts';

const opts = options({
  records: { type: 'string', default: '500000' },
  batch: { type: 'string', default: '1000' },
  concurrency: { type: 'string', default: '4' },
});
const records = opts.quick ? 20_000 : Number(opts.records);
const batch = Number(opts.batch);
const concurrency = Number(opts.concurrency);

const SERVICES = ['frontend', 'checkout', 'payment', 'cart', 'currency'];
const TEMPLATES = [
  (i: number) => `GET /product/${i % 977} 200 ${(i * 7) % 180}ms`,
  (i: number) => `order ${i.toString(16)} placed: ${1 + (i % 4)} items, total ${(i % 500) + 0.99} EUR`,
  (i: number) => `charge approved for order ${i.toString(16)} (transaction txn_${(i * 31).toString(16)})`,
  (i: number) => `failed to retrieve cart for session ${(i * 13).toString(16)}: rpc error: code = Unavailable`,
];

/** One OTLP logs request: `n` realistic records with attributes, trace context and a resource. */
function payload(seq: number, n: number): string {
  const base = Date.now() - 3_600_000;
  const service = SERVICES[seq % SERVICES.length]!;
  const logRecords = Array.from({ length: n }, (_, k) => {
    const i = seq * n + k;
    return {
      timeUnixNano: `${base + (i % 3_600_000)}000000`,
      severityNumber: i % 17 === 0 ? 17 : 9,
      severityText: i % 17 === 0 ? 'ERROR' : 'INFO',
      body: { stringValue: TEMPLATES[i % TEMPLATES.length]!(i) },
      traceId: (i * 2654435761).toString(16).padStart(32, '0').slice(-32),
      spanId: (i * 40503).toString(16).padStart(16, '0').slice(-16),
      attributes: [
        { key: 'http.route', value: { stringValue: '/api/checkout' } },
        { key: 'http.response.status_code', value: { intValue: '200' } },
        { key: 'user.session', value: { stringValue: `s-${i % 5000}` } },
      ],
    };
  });
  return JSON.stringify({
    resourceLogs: [
      {
        resource: {
          attributes: [
            { key: 'service.name', value: { stringValue: service } },
            { key: 'service.version', value: { stringValue: '1.2.3' } },
            { key: 'k8s.pod.name', value: { stringValue: `${service}-7d9f8b6c5-x2x7q` } },
            { key: 'k8s.node.name', value: { stringValue: 'worker-2' } },
          ],
        },
        scopeLogs: [{ scope: { name: 'bench' }, logRecords }],
      },
    ],
  });
}

const { service, token } = await benchService({ AIOPS_INGEST_MAX_BODY_BYTES: String(64 * 1024 * 1024) });
const ingestToken = await token(['ingest']);
const principal = { sub: 'bench', roles: ['ingest'], workspaces: ['shop'] };
const trusting: TokenVerifier = { mode: 'dev', verify: async () => principal };
const apps = { verified: service.app, unverified: createApp({ ...service.deps, verifier: trusting }) };

async function run(app: typeof service.app, requests: number, perRequest: number, offset: number): Promise<number> {
  // Bodies are built before the clock starts; each is distinct so deduplication never skips a write.
  const bodies = Array.from({ length: requests }, (_, i) => payload(offset + i, perRequest));
  return drive(requests, concurrency, async (i) => {
    const res = await app.request('/v1/logs', {
      method: 'POST',
      headers: { Authorization: `Bearer ${ingestToken}`, 'Content-Type': 'application/json' },
      body: bodies[i],
    });
    if (res.status !== 200) throw new Error(`ingest answered ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
  });
}

// 1. Throughput: records per second at a typical exporter batch size.
await run(apps.verified, 4, batch, 1_000_000); // warm-up
const requests = Math.ceil(records / batch);
const ms = await run(apps.verified, requests, batch, 0);
const recordsPerSecond = (requests * batch) / (ms / 1000);

// 2. Auth cost: small requests make the per-request work visible; both apps alternate to share conditions.
const small = opts.quick ? 200 : 2000;
const smallBatch = 10;
let verifiedMs = 0;
let unverifiedMs = 0;
for (let round_ = 0; round_ < 3; round_++) {
  verifiedMs += await run(apps.verified, small, smallBatch, 2_000_000 + round_ * 10_000);
  unverifiedMs += await run(apps.unverified, small, smallBatch, 3_000_000 + round_ * 10_000);
}
const verifiedRps = (3 * small) / (verifiedMs / 1000);
const unverifiedRps = (3 * small) / (unverifiedMs / 1000);

// 3. First-sight cost of a token (signature check, no memory of it yet).
const fresh = await Promise.all(Array.from({ length: opts.quick ? 50 : 500 }, (_, i) => token(['ingest'], ['shop', `w${i}`])));
const coldStart = performance.now();
for (const t of fresh) await service.deps.verifier.verify(t);
const coldMicros = ((performance.now() - coldStart) * 1000) / fresh.length;

await service.close();
report('ingest', {
  quick: opts.quick,
  records: requests * batch,
  batch,
  concurrency,
  records_per_second: Math.round(recordsPerSecond),
  auth: {
    request_records: smallBatch,
    verified_requests_per_second: Math.round(verifiedRps),
    unverified_requests_per_second: Math.round(unverifiedRps),
    throughput_ratio: round(verifiedRps / unverifiedRps, 3),
    auth_cost_share: round(1 - verifiedRps / unverifiedRps, 3),
    first_verification_microseconds: round(coldMicros, 0),
  },
});
