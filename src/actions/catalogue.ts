import { z } from 'zod';
import type { Policies } from '../policies/schema.ts';
import { ACTION_NAMES, type ActionName, type Proposal, type ProposalDraft, type Risk } from '../core/proposal.ts';

/** A Kubernetes object name (RFC 1123 label). */
const Service = z
  .string()
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'expected a deployment name');
/** CPU as Kubernetes writes it: cores (0.5, 2) or millicores (500m). */
const Cpu = z.string().regex(/^(\d+(\.\d+)?|\d+m)$/, 'expected a CPU quantity such as 500m or 2');
/** Memory as Kubernetes writes it: 512Mi, 1Gi, 1.5Gi. */
const Memory = z.string().regex(/^\d+(\.\d+)?(Ki|Mi|Gi|Ti)$/, 'expected a memory quantity such as 512Mi or 2Gi');

/** The parameters of each action: strict, so nothing else reaches the control plane. */
const ACTION_PARAMS = {
  scale: z.object({ service: Service, replicas: z.number().int() }).strict(),
  rollout_restart: z.object({ service: Service }).strict(),
  rollback: z.object({ service: Service, to_version: z.string().min(1).max(100).optional() }).strict(),
  set_resources: z
    .object({
      service: Service,
      cpu_request: Cpu.optional(),
      cpu_limit: Cpu.optional(),
      memory_request: Memory.optional(),
      memory_limit: Memory.optional(),
    })
    .strict()
    .refine(
      (p) => p.cpu_request || p.cpu_limit || p.memory_request || p.memory_limit,
      'give at least one of cpu_request, cpu_limit, memory_request, memory_limit',
    ),
} as const;

function cpuCores(q: string): number {
  return q.endsWith('m') ? Number(q.slice(0, -1)) / 1000 : Number(q);
}
function memoryMiB(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti)$/.exec(q)!;
  return Number(m[1]) * { Ki: 1 / 1024, Mi: 1, Gi: 1024, Ti: 1024 * 1024 }[m[2] as 'Ki']!;
}
/** Kubernetes quantities for proposals: millicores, and MiB rounded up to 64. */
export const cpuQuantity = (cores: number) => `${Math.max(1, Math.round(cores * 1000))}m`;
export const memoryQuantity = (mib: number) => `${Math.ceil(mib / 64) * 64}Mi`;

/** Whether a person of the conversation may approve it: as the action says, else allowed only for low risk. */
export function selfApproval(rule: { risk: Risk; self_approval?: boolean | undefined }): boolean {
  return rule.self_approval ?? rule.risk === 'low';
}

export function describeAction(action: ActionName, p: Record<string, unknown>): string {
  switch (action) {
    case 'scale':
      return `scale ${p.service} to ${p.replicas} replicas`;
    case 'rollout_restart':
      return `restart the pods of ${p.service}`;
    case 'rollback':
      return `roll ${p.service} back${p.to_version ? ` to ${p.to_version}` : ' to its previous version'}`;
    case 'set_resources': {
      const parts = (['cpu_request', 'cpu_limit', 'memory_request', 'memory_limit'] as const)
        .filter((k) => p[k])
        .map((k) => `${k.replace('_', ' ')} to ${p[k]}`);
      return `set ${p.service}'s ${parts.join(', ')}`;
    }
  }
}

/**
 * Why values fall outside the policy's limits (replicas, CPU and memory
 * ranges, the largest change at once), or undefined when they are within.
 * A person's request is checked against them first: a value no approver
 * could accept is refused whatever the evidence says.
 */
export function outsideLimits(
  policy: Policies['remediate'],
  action: ActionName,
  params: Record<string, unknown>,
  current?: ProposalDraft['current'],
): string | undefined {
  if (action === 'scale') {
    const { min_replicas, max_replicas } = policy.actions.scale!.limits;
    const n = params.replicas as number;
    if (n < min_replicas || n > max_replicas) return `${n} replicas is outside the policy's range (${min_replicas} to ${max_replicas})`;
  }
  if (action === 'set_resources') {
    const l = policy.actions.set_resources!.limits;
    for (const key of ['cpu_request', 'cpu_limit'] as const) {
      const v = params[key] as string | undefined;
      if (v === undefined) continue;
      const cores = cpuCores(v);
      if (cores < l.min_cpu || cores > l.max_cpu) return `${key} ${v} is outside the policy's range (${l.min_cpu} to ${l.max_cpu} cores)`;
      const now = current?.[key];
      if (now && Math.max(cores / now, now / cores) > l.max_change_factor)
        return `${key} ${v} changes the current ${now} cores by more than ${l.max_change_factor} times`;
    }
    for (const key of ['memory_request', 'memory_limit'] as const) {
      const v = params[key] as string | undefined;
      if (v === undefined) continue;
      const mib = memoryMiB(v);
      if (mib < l.min_memory_mib || mib > l.max_memory_mib)
        return `${key} ${v} is outside the policy's range (${l.min_memory_mib} to ${l.max_memory_mib} MiB)`;
      const now = current?.[key];
      if (now && Math.max(mib / now, now / mib) > l.max_change_factor)
        return `${key} ${v} changes the current ${Math.round(now)} MiB by more than ${l.max_change_factor} times`;
    }
  }
  return undefined;
}

/**
 * Checks a draft against the catalogue: the action exists and this agent may
 * propose it, the parameters are well-typed, the service is the workspace's,
 * the values are within the policy's limits, and it rests on evidence. The
 * reason for a refusal is for the log and the person who asked.
 */
export function checkProposal(
  policy: Policies['remediate'],
  draft: ProposalDraft,
  services: string[],
): { ok: true; proposal: Proposal } | { ok: false; reason: string } {
  if (!(ACTION_NAMES as readonly string[]).includes(draft.action))
    return { ok: false, reason: `"${draft.action}" is not an action of the catalogue` };
  const action = draft.action as ActionName;
  const rule = policy.actions[action];
  if (!rule) return { ok: false, reason: `${action} is not enabled in policies/remediate.yaml` };
  if (!(rule.proposers as string[]).includes(draft.agent))
    return { ok: false, reason: `the ${draft.agent} agent may not propose ${action}` };
  const parsed = ACTION_PARAMS[action].safeParse(draft.params);
  if (!parsed.success)
    return { ok: false, reason: `${action}: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'params'} ${i.message}`).join('; ')}` };
  const params = parsed.data as Record<string, unknown> & { service: string };
  if (!services.includes(params.service)) return { ok: false, reason: `${params.service} is not a service of this workspace` };
  if (draft.evidence_ids.length === 0) return { ok: false, reason: `${action} of ${params.service} rests on no evidence` };
  const outside = outsideLimits(policy, action, params, draft.current);
  if (outside) return { ok: false, reason: outside };
  return {
    ok: true,
    proposal: {
      action,
      params,
      reason: draft.reason,
      evidence_ids: [...new Set(draft.evidence_ids)],
      agent: draft.agent,
      risk: rule.risk,
      approvers: rule.approvers,
      self_approval: selfApproval(rule),
      summary: describeAction(action, params),
      requested: draft.requested ?? false,
      ...(draft.verify ? { verify: draft.verify } : {}),
    },
  };
}
