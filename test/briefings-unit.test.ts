import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { anomalyWindows, gatherSteps } from '../src/briefings/graph.ts';
import { trendOf } from '../src/briefings/figures.ts';
import { compare } from '../src/briefings/detect.ts';
import { esc } from '../src/briefings/html.ts';
import { signBody } from '../src/briefings/delivery.ts';
import { prepareRun, type TelemetryTool } from '../src/tools/definition.ts';
import { TOOLS } from '../src/tools/registry.ts';
import { loadPolicies } from '../src/policies/load.ts';
import type { Store } from '../src/clients/clickhouse.ts';

const policy = loadPolicies('policies').tools;
const HOUR = 3_600_000;

describe('the briefing gather step', () => {
  it('asks only for windows the tools accept, for periods from a minute to a week', () => {
    const now = Date.parse('2026-11-28T12:00:00Z');
    const cpu = { cpuUsage: policy.resource_metrics.cpu_usage, cpuLimit: policy.resource_metrics.cpu_limit };
    for (const len of [60_000, HOUR, 24 * HOUR, 7 * 24 * HOUR]) {
      const steps = gatherSteps({ from: now - len, to: now }, cpu, 7 * 24 * HOUR);
      expect(steps.some((s) => s.label === 'vs_day')).toBe(len <= 24 * HOUR);
      for (const { step } of steps) {
        const ctx = { store: {} as Store, workspace: 'shop', tenantAttribute: 'k8s.namespace.name', trackingId: 't', policy, now };
        expect(
          () => prepareRun(TOOLS[step.tool] as TelemetryTool, ctx, step.args),
          `${step.tool} for a period of ${len / 60_000} min`,
        ).not.toThrow();
      }
    }
  });
});

describe('trends', () => {
  it('follow the stated rule: 10% and a meaningful change', () => {
    expect(trendOf('traffic', 110, 100)).toBe('up');
    expect(trendOf('traffic', 105, 100)).toBe('stable');
    expect(trendOf('traffic', 1.5, 1)).toBe('stable'); // +50%, but under 1 req/min
    expect(trendOf('error_ratio', 0.012, 0.005)).toBe('up');
    expect(trendOf('error_ratio', 0.004, 0.001)).toBe('stable'); // under half a point
    expect(trendOf('p95_latency', 80, 120)).toBe('down');
    expect(trendOf('saturation', 0.5, 0.42)).toBe('up');
    expect(trendOf('traffic', 10, null)).toBe('stable');
  });
});

describe('since last time', () => {
  it('marks new, ongoing, worse and resolved by fingerprint', () => {
    const previous = [
      { fingerprint: 'a', severity: 'major' as const, value: 0.1, status: 'new' as const },
      { fingerprint: 'b', severity: 'minor' as const, value: 0.1, status: 'ongoing' as const },
      { fingerprint: 'c', severity: 'major' as const, status: 'new' as const },
      { fingerprint: 'd', severity: 'major' as const, status: 'resolved' as const },
    ];
    const { items, resolved } = compare(
      [
        { fingerprint: 'a', severity: 'major' as const, value: 0.12 },
        { fingerprint: 'b', severity: 'minor' as const, value: 0.2 },
        { fingerprint: 'e', severity: 'minor' as const },
        { fingerprint: 'd', severity: 'major' as const },
      ],
      previous,
    );
    expect(items.map((i) => [i.fingerprint, i.status])).toEqual([
      ['a', 'ongoing'],
      ['b', 'worse'],
      ['e', 'new'],
      ['d', 'new'],
    ]);
    expect(resolved.map((r) => [r.fingerprint, r.status])).toEqual([['c', 'resolved']]);
  });
});

describe('charts, pages and signatures', () => {
  it('merges consecutive anomalous points into windows', () => {
    const pts: [number, number][] = Array.from({ length: 8 }, (_, i) => [i * 60_000, i]);
    expect(anomalyWindows(pts, [0, 0.6, 0.7, 0, 0, 0.9, 0, 0])).toEqual([
      [60_000, 180_000],
      [300_000, 360_000],
    ]);
  });

  it('escapes markup and quotes', () => {
    expect(esc(`<script>alert("x")</script> & 'y'`)).toBe('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;');
  });

  it('signs the timestamp and body with HMAC-SHA256', () => {
    // Computed independently: printf '1700000000.{}' | openssl dgst -sha256 -hmac secret
    expect(signBody('secret', '1700000000', '{}')).toBe('sha256=b8569b78799ff9e3cbff0fc2d63a33a2b57f3282abd07c37ae5e8e7d79a5f163');
    expect(signBody('secret', '1700000001', '{}')).not.toBe(signBody('secret', '1700000000', '{}'));
  });
});

describe('briefings.yaml', () => {
  const withBriefings = (yaml: string) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aiops-policies-'));
    for (const f of fs.readdirSync('policies')) fs.copyFileSync(path.join('policies', f), path.join(dir, f));
    fs.writeFileSync(path.join(dir, 'briefings.yaml'), yaml);
    return () => loadPolicies(dir);
  };

  it('stops the start on a broken schedule, naming the file and the field', () => {
    const cases: [string, RegExp][] = [
      [
        'workspaces:\n  shop:\n    - { name: hourly, schedule: { cron: "61 * * * *" } }\n',
        /briefings\.yaml: workspaces\.shop\[0\]\.schedule\.cron: not a cron expression/,
      ],
      [
        'workspaces:\n  shop:\n    - { name: hourly, schedule: { cron: "0 * * * *", every: 1h } }\n',
        /workspaces\.shop\[0\]\.schedule: give exactly one of cron and every/,
      ],
      [
        'workspaces:\n  shop:\n    - { name: a, schedule: { every: 1h } }\n    - { name: a, schedule: { every: 2h } }\n',
        /workspaces\.shop\[1\]\.name: the name a appears twice/,
      ],
      [
        'workspaces:\n  shop:\n    - { name: a, schedule: { every: 1h }, delivery: { webhook: { url: "https://x.example", secret_env: "lower" } } }\n',
        /workspaces\.shop\[0\]\.delivery\.webhook\.secret_env: expected an environment variable name/,
      ],
    ];
    for (const [yaml, detail] of cases) expect(withBriefings(yaml)).toThrow(detail);
  });
});
