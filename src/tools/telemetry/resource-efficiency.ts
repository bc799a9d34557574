import { z } from 'zod';
import { defineTool, fmt } from '../definition.ts';
import { between, IN_WORKSPACE } from '../run.ts';
import { windowFields } from '../window.ts';
import type { Evidence } from '../../core/evidence.ts';

interface Row {
  service: string;
  role: string;
  pods: number;
  avg: number;
  p95: number;
}
interface ThrottleRow {
  service: string;
  periods: number;
  throttled: number;
}

interface Workload {
  service: string;
  pods: number;
  cpuUsed: number;
  cpuPeak: number;
  cpuRequest: number;
  cpuLimit: number;
  memUsed: number;
  memPeak: number;
  memRequest: number;
  memLimit: number;
  throttled: number;
}

const GiB = 1024 ** 3;
/** A core costs about as much as 4 GiB of memory: waste and shortfall are ranked in core-equivalents. */
const GIB_PER_CORE = 4;

interface Assessment {
  over: boolean;
  under: boolean;
  wasteCores: number;
  wasteGiB: number;
  reasons: string[];
  weight: number;
}

/** Over-provisioned: the peak stays far under the request. Under-provisioned: above the request, near the limit, or throttled. */
export function assess(w: Workload): Assessment {
  const reasons: string[] = [];
  let wasteCores = 0;
  let wasteGiB = 0;
  if (w.cpuRequest >= 0.1 && w.cpuPeak / w.cpuRequest < 0.3) {
    wasteCores = (w.cpuRequest - w.cpuPeak) * w.pods;
    reasons.push(`CPU peak ${fmt.pct(w.cpuPeak / w.cpuRequest)} of request`);
  }
  if (w.memRequest >= 64 * 1024 ** 2 && w.memPeak / w.memRequest < 0.4) {
    wasteGiB = ((w.memRequest - w.memPeak) * w.pods) / GiB;
    reasons.push(`memory peak ${fmt.pct(w.memPeak / w.memRequest)} of request`);
  }
  const under: string[] = [];
  if (w.cpuRequest > 0 && w.cpuPeak / w.cpuRequest > 1.0) under.push(`CPU peak ${fmt.pct(w.cpuPeak / w.cpuRequest)} of request`);
  if (w.cpuLimit > 0 && w.cpuPeak / w.cpuLimit > 0.9) under.push(`CPU peak ${fmt.pct(w.cpuPeak / w.cpuLimit)} of limit`);
  if (w.throttled > 0.05) under.push(`${fmt.pct(w.throttled)} of CPU periods throttled`);
  if (w.memLimit > 0 && w.memPeak / w.memLimit > 0.9) under.push(`memory peak ${fmt.pct(w.memPeak / w.memLimit)} of limit`);
  // Waste under a quarter of a core-equivalent is not worth anyone's time.
  const over = reasons.length > 0 && under.length === 0 && wasteCores + wasteGiB / GIB_PER_CORE >= 0.25;
  return {
    over,
    under: under.length > 0,
    wasteCores: over ? wasteCores : 0,
    wasteGiB: over ? wasteGiB : 0,
    reasons: under.length ? under : reasons,
    weight: under.length ? 10 * under.length : wasteCores + wasteGiB / GIB_PER_CORE,
  };
}

export const resourceEfficiency = defineTool({
  name: 'resource_efficiency',
  prefix: 're',
  category: 'efficiency',
  description:
    'CPU and memory use against requests and limits per workload (average and p95 per pod), CPU throttling, and the largest over- and under-provisioned workloads with the cores and memory they waste or lack.',
  args: z
    .object({
      service: z.string().min(1).max(200).optional(),
      top: z.number().int().min(1).max(50).default(8),
      ...windowFields,
    })
    .strict(),
  defaultWindow: '6h',
  async run(run, args) {
    const m = run.ctx.policy.resource_metrics;
    const roles: [string, string[]][] = [
      ['cpu_usage', m.cpu_usage],
      ['memory_usage', m.memory_usage],
      ['cpu_request', m.cpu_request],
      ['cpu_limit', m.cpu_limit],
      ['memory_request', m.memory_request],
      ['memory_limit', m.memory_limit],
    ];
    const [usage, throttle] = await Promise.all([
      run.query<Row>(
        `SELECT service, role, uniqExact(pod) AS pods, avg(pod_avg) AS avg, avg(pod_p95) AS p95 FROM (
           SELECT ServiceName AS service, transform(MetricName, {names:Array(String)}, {roles:Array(String)}, '') AS role,
                  ResourceAttributes['k8s.pod.name'] AS pod, avg(Value) AS pod_avg, quantile(0.95)(Value) AS pod_p95
           FROM otel_metrics_gauge
           WHERE ${IN_WORKSPACE} AND ${between('TimeUnix', 'w')} AND MetricName IN {names:Array(String)}
             AND ({service:String} = '' OR ServiceName = {service:String})
           GROUP BY service, role, pod)
         GROUP BY service, role`,
        {
          ...run.timeParams,
          service: args.service ?? '',
          names: roles.flatMap(([, names]) => names),
          roles: roles.flatMap(([role, names]) => names.map(() => role)),
        },
      ),
      run.query<ThrottleRow>(
        `SELECT service, sum(periods) AS periods, sum(throttled) AS throttled FROM (
           SELECT ServiceName AS service, cityHash64(ResourceAttributes, Attributes) AS series,
                  maxIf(Value, MetricName IN {periods:Array(String)}) - minIf(Value, MetricName IN {periods:Array(String)}) AS periods,
                  maxIf(Value, MetricName IN {throttled:Array(String)}) - minIf(Value, MetricName IN {throttled:Array(String)}) AS throttled
           FROM otel_metrics_sum
           WHERE ${IN_WORKSPACE} AND ${between('TimeUnix', 'w')} AND MetricName IN {all:Array(String)}
             AND ({service:String} = '' OR ServiceName = {service:String})
           GROUP BY service, ResourceAttributes['k8s.pod.name'], series)
         GROUP BY service`,
        {
          ...run.timeParams,
          service: args.service ?? '',
          periods: m.cpu_periods,
          throttled: m.cpu_throttled_periods,
          all: [...m.cpu_periods, ...m.cpu_throttled_periods],
        },
      ),
    ]);
    const by = new Map<string, Workload>();
    for (const r of usage.rows) {
      let w = by.get(r.service);
      if (!w) {
        w = {
          service: r.service,
          pods: 0,
          cpuUsed: 0,
          cpuPeak: 0,
          cpuRequest: 0,
          cpuLimit: 0,
          memUsed: 0,
          memPeak: 0,
          memRequest: 0,
          memLimit: 0,
          throttled: 0,
        };
        by.set(r.service, w);
      }
      const avg = Number(r.avg);
      const p95 = Number(r.p95);
      switch (r.role) {
        case 'cpu_usage':
          w.pods = Number(r.pods);
          w.cpuUsed = avg;
          w.cpuPeak = p95;
          break;
        case 'memory_usage':
          w.memUsed = avg;
          w.memPeak = p95;
          break;
        case 'cpu_request':
          w.cpuRequest = avg;
          break;
        case 'cpu_limit':
          w.cpuLimit = avg;
          break;
        case 'memory_request':
          w.memRequest = avg;
          break;
        case 'memory_limit':
          w.memLimit = avg;
          break;
      }
    }
    for (const t of throttle.rows) {
      const w = by.get(t.service);
      if (w && Number(t.periods) > 0) w.throttled = Number(t.throttled) / Number(t.periods);
    }
    const workloads = [...by.values()].filter((w) => w.pods > 0);
    if (workloads.length === 0) {
      return { evidence: [], notes: [`no CPU or memory usage metrics (${m.cpu_usage.join(', ')}) in the window`] };
    }
    const assessed = workloads.map((w) => ({ w, a: assess(w) })).sort((x, y) => y.a.weight - x.a.weight);
    const evidence: Evidence[] = [];
    const numbers = (w: Workload, a: Assessment) => ({
      pods: w.pods,
      cpu_used: round(w.cpuUsed),
      cpu_p95: round(w.cpuPeak),
      cpu_request: round(w.cpuRequest),
      cpu_limit: round(w.cpuLimit),
      memory_used_gib: round(w.memUsed / GiB),
      memory_p95_gib: round(w.memPeak / GiB),
      memory_request_gib: round(w.memRequest / GiB),
      memory_limit_gib: round(w.memLimit / GiB),
      throttled_share: round(w.throttled),
      waste_cores: round(a.wasteCores),
      waste_gib: round(a.wasteGiB),
    });
    for (const { w, a } of assessed.filter((x) => x.a.over || x.a.under).slice(0, args.top)) {
      const head = a.under
        ? `${w.service} is under-provisioned: ${a.reasons.join(', ')}`
        : `${w.service} is over-provisioned: requests ${fmt.num(w.cpuRequest)} CPU and ${(w.memRequest / GiB).toFixed(2)} GiB per pod, uses ${fmt.num(w.cpuPeak)} CPU and ${(w.memPeak / GiB).toFixed(2)} GiB at p95 (${a.reasons.join(', ')}); ${w.pods} pods waste ${a.wasteCores.toFixed(2)} CPU and ${a.wasteGiB.toFixed(2)} GiB`;
      evidence.push(
        run.evidence({
          kind: a.under ? 'underprovisioned' : 'overprovisioned',
          service: w.service,
          summary: head,
          numbers: numbers(w, a),
          attributes: { reasons: a.reasons.join('; ') },
          query_id: a.under && w.throttled > 0.05 ? throttle.queryId : usage.queryId,
          score: round(a.weight),
        }),
      );
    }
    const req = workloads.reduce((s, w) => s + w.cpuRequest * w.pods, 0);
    const used = workloads.reduce((s, w) => s + w.cpuUsed * w.pods, 0);
    const memReq = workloads.reduce((s, w) => s + w.memRequest * w.pods, 0);
    const memUsed = workloads.reduce((s, w) => s + w.memUsed * w.pods, 0);
    evidence.push(
      run.evidence({
        kind: 'resource_totals',
        summary: `${workloads.length} workloads request ${req.toFixed(2)} CPU and use ${used.toFixed(2)} on average (${fmt.pct(req ? used / req : 0)}); memory ${(memReq / GiB).toFixed(1)} GiB requested, ${(memUsed / GiB).toFixed(1)} GiB used (${fmt.pct(memReq ? memUsed / memReq : 0)})`,
        numbers: {
          workloads: workloads.length,
          cpu_requested: round(req),
          cpu_used: round(used),
          memory_requested_gib: round(memReq / GiB),
          memory_used_gib: round(memUsed / GiB),
        },
        query_id: usage.queryId,
        score: 0,
      }),
    );
    const flagged = assessed.filter((x) => x.a.over || x.a.under).length;
    return {
      evidence,
      notes: [
        flagged
          ? `${flagged} of ${workloads.length} workloads are sized poorly`
          : `all ${workloads.length} workloads are sized within bounds`,
      ],
    };
  },
});

const round = (v: number) => Math.round(v * 1000) / 1000;
