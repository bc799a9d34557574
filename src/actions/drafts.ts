import type { Evidence } from '../core/evidence.ts';
import type { Hypothesis } from '../core/hypothesis.ts';
import { cpuQuantity, memoryQuantity } from './catalogue.ts';
import type { ActionRequest } from './intent.ts';
import type { ProposalDraft, VerifySpec } from '../core/proposal.ts';

const MiB = 1024 * 1024;
const cite = (...ids: (string | undefined)[]) => [...new Set(ids.filter(Boolean))].map((i) => `[${i}]`).join('');

/** A draft with the confidence of the candidate behind it. */
export type ScoredDraft = ProposalDraft & { confidence: number };

function find(evidence: Evidence[], kind: string | string[], service: string): Evidence | undefined {
  const kinds = Array.isArray(kind) ? kind : [kind];
  return evidence.find((e) => kinds.includes(e.kind) && e.service === service);
}

function metric(evidence: Evidence[], service: string, pattern: RegExp): Evidence | undefined {
  return evidence.find((e) => e.kind === 'metric_deviation' && e.service === service && pattern.test(e.attributes.signal ?? ''));
}

const windowMs = (e: Evidence) => Math.max(5 * 60_000, Date.parse(e.window.to) - Date.parse(e.window.from));

/** Checking a service's error ratio again: the service_overview item of that service. */
function errorCheck(red: Evidence): VerifySpec {
  const before = red.numbers.error_ratio ?? 0;
  const baseline = red.numbers.baseline_error_ratio ?? 0;
  return {
    tool: 'service_overview',
    args: { service: red.service },
    window_ms: windowMs(red),
    evidence_kind: ['service_change', 'service_red'],
    service: red.service!,
    number: 'error_ratio',
    before,
    target: Math.max(baseline * 2, 0.01),
    label: `${red.service}'s error ratio`,
  };
}

function latencyCheck(red: Evidence): VerifySpec {
  return {
    tool: 'service_overview',
    args: { service: red.service },
    window_ms: windowMs(red),
    evidence_kind: ['service_change', 'service_red'],
    service: red.service!,
    number: 'p95_ms',
    before: red.numbers.p95_ms ?? 0,
    target: Math.max((red.numbers.baseline_p95_ms ?? 0) * 1.5, 1),
    label: `${red.service}'s p95 latency (ms)`,
  };
}

function oomCheck(oom: Evidence): VerifySpec {
  return {
    tool: 'recent_changes',
    args: { service: oom.service },
    window_ms: windowMs(oom),
    evidence_kind: ['oom_kill'],
    service: oom.service!,
    number: 'events',
    before: oom.numbers.events ?? 0,
    target: 0,
    label: `out-of-memory kills of ${oom.service}`,
  };
}

/**
 * What the SRE and Efficiency specialists propose for their leading
 * candidates: roll back a bad deploy, give back the CPU a change took away,
 * raise the memory limit of a workload killed for memory, lower requests far
 * above use. Each rests on the evidence it names and says how to check it
 * worked.
 */
export function draftsFor(h: Hypothesis, evidence: Evidence[]): ScoredDraft[] {
  const s = h.service;
  const red = find(evidence, ['service_change', 'service_red'], s);
  switch (h.kind) {
    case 'bad_deploy': {
      const deploy = find(evidence, 'deploy', s);
      const rollout = find(evidence, 'rollout', s);
      if (!deploy && !rollout) return [];
      return [
        {
          action: 'rollback',
          params: { service: s, ...(deploy ? { to_version: deploy.attributes.from_version } : {}) },
          reason: `${s} fails since ${deploy ? `version ${deploy.attributes.to_version} rolled out` : 'its last rollout'} ${cite(deploy?.id ?? rollout?.id, red?.id)}`,
          evidence_ids: [deploy?.id ?? rollout!.id, ...(red ? [red.id] : [])],
          agent: h.agent,
          confidence: h.score,
          ...(red ? { verify: errorCheck(red) } : {}),
        },
      ];
    }
    case 'cpu_throttling': {
      const limit = metric(evidence, s, /cpu_limit|cpu\.limit/i);
      if (!limit || !(limit.numbers.baseline_median! > limit.numbers.median!)) return [];
      return [
        {
          action: 'set_resources',
          params: { service: s, cpu_limit: cpuQuantity(limit.numbers.baseline_median!) },
          reason: `${s} is throttled since its CPU limit went from ${limit.numbers.baseline_median} to ${limit.numbers.median} cores ${cite(limit.id, red?.id)}`,
          evidence_ids: [limit.id, ...(red ? [red.id] : [])],
          agent: h.agent,
          confidence: h.score,
          current: { cpu_limit: limit.numbers.median },
          ...(red ? { verify: latencyCheck(red) } : {}),
        },
      ];
    }
    case 'oom_crashloop': {
      const oom = find(evidence, 'oom_kill', s);
      const memLimit = metric(evidence, s, /memory_limit|memory\.limit/i);
      const working = metric(evidence, s, /memory|working_set/i);
      const limitBytes = memLimit?.numbers.median ?? memLimit?.numbers.baseline_median;
      const peakBytes = Math.max(working?.numbers.median ?? 0, working?.numbers.baseline_median ?? 0);
      const base = limitBytes ?? peakBytes;
      if (!oom || !base) return [];
      const target = memoryQuantity((base / MiB) * 1.5);
      return [
        {
          action: 'set_resources',
          params: { service: s, memory_limit: target },
          reason: `${s} is killed for memory and restarts in a loop ${cite(oom.id, working?.id ?? memLimit?.id)}; 1.5 times its ${limitBytes ? 'current limit' : 'working set'} stops the loop while the cause is found`,
          evidence_ids: [oom.id, ...(working ? [working.id] : []), ...(memLimit ? [memLimit.id] : [])],
          agent: h.agent,
          confidence: h.score,
          ...(limitBytes ? { current: { memory_limit: limitBytes / MiB } } : {}),
          verify: oomCheck(oom),
        },
      ];
    }
    case 'overprovisioned': {
      const e = find(evidence, 'overprovisioned', s);
      if (!e) return [];
      const n = e.numbers;
      const cpu = Math.max(n.cpu_request! / 4, (n.cpu_p95 ?? 0) * 1.5, 0.05);
      const memMiB = Math.max((n.memory_request_gib! * 1024) / 4, (n.memory_p95_gib ?? 0) * 1024 * 1.5, 64);
      return [
        {
          action: 'set_resources',
          params: { service: s, cpu_request: cpuQuantity(cpu), memory_request: memoryQuantity(memMiB) },
          reason: `${s} requests ${n.cpu_request} CPU and ${n.memory_request_gib} GiB per pod and uses ${n.cpu_p95} CPU and ${n.memory_p95_gib} GiB at p95 ${cite(e.id)}`,
          evidence_ids: [e.id],
          agent: h.agent,
          confidence: h.score,
          current: { cpu_request: n.cpu_request, memory_request: (n.memory_request_gib ?? 0) * 1024 },
        },
      ];
    }
    default:
      return [];
  }
}

/**
 * A person's request as a draft, when the evidence supports it; otherwise
 * why not. The person still only gets a proposal that someone must approve.
 */
export function draftForRequest(
  r: ActionRequest,
  evidence: Evidence[],
  hypotheses: Hypothesis[],
): { draft: ProposalDraft } | { refusal: string } {
  const s = r.service;
  const red = find(evidence, ['service_change', 'service_red'], s);
  const trouble = evidence.filter(
    (e) => e.service === s && ['oom_kill', 'crash_loop', 'probe_failure', 'error_origin', 'service_change'].includes(e.kind),
  );
  const suspect = hypotheses.find((h) => h.service === s);
  const base = { agent: 'sre', requested: true };
  switch (r.action) {
    case 'rollback': {
      const deploy = find(evidence, 'deploy', s);
      const rollout = find(evidence, 'rollout', s);
      if (!deploy && !rollout) return { refusal: `there is no recent deploy of ${s} in the evidence, so there is nothing to roll back` };
      return {
        draft: {
          ...base,
          action: 'rollback',
          params: { service: s, ...(deploy ? { to_version: deploy.attributes.from_version } : {}) },
          reason: `asked for in the conversation; ${deploy ? `${s} ${deploy.attributes.from_version} → ${deploy.attributes.to_version} rolled out at ${deploy.attributes.at?.slice(11, 16)} UTC` : `${s} was rolled out recently`} ${cite(deploy?.id ?? rollout?.id, red?.id)}`,
          evidence_ids: [deploy?.id ?? rollout!.id, ...(red ? [red.id] : [])],
          ...(red ? { verify: errorCheck(red) } : {}),
        },
      };
    }
    case 'rollout_restart': {
      if (!suspect && trouble.length === 0) return { refusal: `${s} looks healthy in the evidence, so no restart was proposed` };
      const ids = [...(suspect?.evidence_ids.slice(0, 2) ?? []), ...trouble.slice(0, 2).map((e) => e.id)];
      return {
        draft: {
          ...base,
          action: 'rollout_restart',
          params: { service: s },
          reason: `asked for in the conversation; ${suspect?.summary ?? `${s} shows trouble`} ${cite(...ids)}`,
          evidence_ids: ids,
        },
      };
    }
    case 'scale': {
      if (!red) return { refusal: `there is no traffic evidence for ${s}, so no scaling was proposed` };
      // Asked for is not enough: scaling is proposed for a service the evidence shows in trouble (or over-provisioned).
      const over = find(evidence, 'overprovisioned', s);
      if (!suspect && trouble.length === 0 && !over)
        return {
          refusal: `${s} looks healthy in the evidence (${red.summary} ${cite(red.id)}), so no scaling was proposed; a capacity change without a problem behind it is not the agents' to propose`,
        };
      const ids = [red.id, ...(over ? [over.id] : []), ...(suspect?.evidence_ids.slice(0, 1) ?? [])];
      return {
        draft: {
          ...base,
          action: 'scale',
          params: { service: s, replicas: r.replicas },
          reason: `asked for in the conversation; ${suspect?.summary ?? red.summary} ${cite(...ids)}`,
          evidence_ids: [...new Set(ids)],
        },
      };
    }
    case 'set_resources': {
      const kind = r.resource!.kind;
      const m = kind.startsWith('cpu') ? metric(evidence, s, /cpu/i) : metric(evidence, s, /memory/i);
      const res = find(evidence, ['overprovisioned', 'underprovisioned'], s);
      const support = res ?? m;
      if (!support && !suspect)
        return {
          refusal: `the evidence shows nothing about ${s}'s ${kind.startsWith('cpu') ? 'CPU' : 'memory'}, so no change was proposed`,
        };
      const ids = support ? [support.id] : suspect!.evidence_ids.slice(0, 2);
      const current: ProposalDraft['current'] = {};
      if (res) {
        if (kind === 'cpu_request') current.cpu_request = res.numbers.cpu_request;
        if (kind === 'cpu_limit') current.cpu_limit = res.numbers.cpu_limit;
        if (kind === 'memory_request') current.memory_request = (res.numbers.memory_request_gib ?? 0) * 1024 || undefined;
        if (kind === 'memory_limit') current.memory_limit = (res.numbers.memory_limit_gib ?? 0) * 1024 || undefined;
      }
      // The catalogue checks the quantity against the policy's limits.
      return {
        draft: {
          ...base,
          action: 'set_resources',
          params: { service: s, [kind]: r.resource!.quantity },
          reason: `asked for in the conversation ${cite(...ids)}`,
          evidence_ids: ids,
          current,
        },
      };
    }
  }
}
