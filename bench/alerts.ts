/**
 * Alert intake: notifications accepted per second (repeats of known groups,
 * which is most of Alertmanager's traffic, and new groups, each starting an
 * investigation), and the time from a webhook to the investigation's first
 * message at 1M log records.
 *
 *   npm run bench:alerts -- [--size 1000000] [--runs 5] [--notifications 5000]
 */
import { benchService, drive, options, percentile, report, round } from './lib.ts';
import { BenchData } from './data.ts';

const opts = options({
  size: { type: 'string', default: '1000000' },
  runs: { type: 'string', default: '5' },
  notifications: { type: 'string', default: '5000' },
});
const size = opts.quick ? 60_000 : Number(opts.size);
const runs = opts.quick ? 2 : Number(opts.runs);
const total = opts.quick ? 300 : Number(opts.notifications);

const { service, token } = await benchService();
const data = new BenchData(service.deps.store, service.deps.ingest);
const end = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
await data.seed('payment-bad-deploy', opts.quick ? 1 : 6, end);
await data.grow(size);
const hook = await token(['alerts']);
const sre = await token(['sre']);
const app = service.app;
const faultStart = new Date(end - 20 * 60_000).toISOString();

const notification = (group: string, alerts = 1) => ({
  version: '4',
  groupKey: group,
  status: 'firing',
  receiver: 'bench',
  groupLabels: { alertname: 'HighErrorRate' },
  commonLabels: { alertname: 'HighErrorRate', severity: 'critical' },
  commonAnnotations: { summary: 'Error ratio above 5%' },
  externalURL: 'http://alertmanager:9093',
  alerts: Array.from({ length: alerts }, (_, i) => ({
    status: 'firing',
    labels: { alertname: 'HighErrorRate', severity: 'critical', service: 'checkout', pod: `checkout-${i}` },
    annotations: { description: 'checkout fails more than 5% of its requests' },
    startsAt: faultStart,
    endsAt: '0001-01-01T00:00:00Z',
    fingerprint: `f${String(i).padStart(15, '0')}`,
  })),
});
const post = async (body: unknown) => {
  const res = await app.request('/v1/alerts/alertmanager', {
    method: 'POST',
    headers: { Authorization: `Bearer ${hook}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status !== 202) throw new Error(`intake answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as { thread_id: string; outcome: string };
};
const firstMessage = async (threadId: string) => {
  for (;;) {
    const res = await app.request(`/v1/threads/${threadId}`, { headers: { Authorization: `Bearer ${sre}` } });
    const t = (await res.json()) as { messages: { role: string; content: string }[] };
    const m = t.messages.find((x) => x.role === 'assistant');
    if (m) return m;
    await new Promise((r) => setTimeout(r, 10));
  }
};

// 1. Webhook to the first investigation message, one new group at a time.
const latencies: number[] = [];
for (let i = 0; i < runs; i++) {
  const started = performance.now();
  const { thread_id } = await post(notification(`bench-latency-${i}`, 3));
  const m = await firstMessage(thread_id);
  latencies.push(performance.now() - started);
  if (!/payment/.test(m.content)) throw new Error('the investigation did not find the payment deploy');
}
latencies.sort((a, b) => a - b);

// 2. Repeats of known groups: what Alertmanager sends most (group_interval, retries).
// Each group's first notification starts an investigation: few of them on small inputs.
const groups = opts.quick ? 5 : 50;
for (let g = 0; g < groups; g++) await post(notification(`bench-repeat-${g}`, 5));
await service.deps.alerts.settled();
const repeatMs = await drive(total, 16, async (i) => {
  await post(notification(`bench-repeat-${i % groups}`, 5));
});

// 3. New groups: accepted at once; their investigations queue in the background.
const fresh = opts.quick ? 5 : 200;
const newMs = await drive(fresh, 16, async (i) => {
  await post(notification(`bench-new-${i}`, 1));
});
const drainStart = performance.now();
await service.deps.alerts.settled();
const drainMs = performance.now() - drainStart;
const volume = await data.volume();

await service.close();
report('alerts', {
  quick: opts.quick,
  target_log_records: size,
  ...volume,
  webhook_to_first_message_ms: { p50: round(percentile(latencies, 50)), max: round(latencies.at(-1)!), runs },
  repeat_notifications_per_second: round(total / (repeatMs / 1000)),
  new_groups: {
    accepted_per_second: round(fresh / (newMs / 1000)),
    groups: fresh,
    investigations_drained_s: round((newMs + drainMs) / 1000, 1),
  },
});
