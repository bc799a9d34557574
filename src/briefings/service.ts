import { createHash, randomUUID } from 'node:crypto';
import { KeyedLock } from '../core/keyed-lock.ts';
import { parseDuration } from '../core/duration.ts';
import { problems } from '../core/problem.ts';
import { iso, type TimeWindow } from '../core/window.ts';
import type { SlackClient } from '../clients/slack.ts';
import type { BriefingSchedulePolicy, Policies } from '../policies/schema.ts';
import { Redactor } from '../policies/redaction.ts';
import type { BriefingStore } from '../storage/briefings.ts';
import { evidenceIds } from '../tools/run.ts';
import { knownServices } from '../tools/telemetry/services.ts';
import type { AgentDeps } from '../agents/context.ts';
import { deliverSlack, deliverWebhook } from './delivery.ts';
import { TREND_RULE } from './figures.ts';
import { buildBriefingGraph } from './graph.ts';
import { Briefing, type Delivery } from './types.ts';

/** The id of the briefing of a workspace, schedule and period: the same on every retry. */
export function briefingId(workspace: string, name: string, period: TimeWindow): string {
  return `br_${createHash('sha256').update(`${workspace}|${name}|${period.from}|${period.to}`).digest('hex').slice(0, 20)}`;
}

export interface BriefingRequest {
  workspace: string;
  name: string;
  period: TimeWindow;
  trigger: Briefing['trigger'];
  requestedBy: string;
  trackingId: string;
}

export interface BriefingServiceOptions {
  agents: AgentDeps;
  store: BriefingStore;
  policy: Policies['briefings'];
  /** Posts Slack deliveries (absent without SLACK_BOT_TOKEN). */
  slack?: SlackClient;
  /** Links in deliveries: `<linkBase>/v1/briefings/<id>.html`. */
  linkBase: string;
  /** Where webhook secrets are read, by the name the policy gives. */
  env?: Record<string, string | undefined>;
}

export interface BriefingSummary {
  id: string;
  workspace: string;
  name: string;
  period: { start: string; end: string };
  created_at: string;
  quiet: boolean;
  incidents: number;
  summary: string;
}

/**
 * Runs, stores and delivers briefings. A briefing is idempotent per
 * (workspace, name, period): its id is derived from them, a run finds the
 * stored one first, and runs of the same id in this process wait for each
 * other. Delivery happens after the briefing is stored; its result is
 * written onto the briefing, and a failure never loses it.
 */
export class BriefingService {
  private readonly graph = buildBriefingGraph();
  private readonly locks = new KeyedLock();
  private readonly pending = new Set<Promise<unknown>>();
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly o: BriefingServiceOptions) {}

  /** The schedule of this name in the workspace's policy, if there is one. */
  schedule(workspace: string, name: string): BriefingSchedulePolicy | undefined {
    return this.o.policy.workspaces[workspace]?.find((s) => s.name === name);
  }

  /** The period a schedule covers (its `period`, else its interval, else an hour). */
  periodMs(s: BriefingSchedulePolicy | undefined): number {
    return parseDuration(s?.period ?? s?.schedule.every ?? '1h')!;
  }

  async run(req: BriefingRequest): Promise<{ briefing: Briefing; created: boolean }> {
    const id = briefingId(req.workspace, req.name, req.period);
    return this.locks.run(id, async () => {
      const stored = await this.get(req.workspace, id);
      if (stored) return { briefing: stored, created: false };
      const started = performance.now();
      const fact = (status: 'ok' | 'error', attrs: Record<string, string> = {}) =>
        this.o.agents.facts?.record({
          kind: 'briefing',
          trackingId: req.trackingId,
          workspace: req.workspace,
          name: req.name,
          status,
          durationMs: performance.now() - started,
          attrs: { trigger: req.trigger, ...attrs },
        });
      let briefing: Briefing;
      try {
        briefing = await this.limited(() => this.write(id, req));
      } catch (err) {
        fact('error');
        throw err;
      }
      fact('ok', { briefing_id: briefing.id, quiet: briefing.quiet ? '1' : '0' });
      await this.o.store.put(this.row(briefing));
      this.deliverLater(briefing);
      return { briefing, created: true };
    });
  }

  private async limited<T>(fn: () => Promise<T>): Promise<T> {
    while (this.running >= this.o.policy.max_concurrent) await new Promise<void>((r) => this.waiting.push(r));
    this.running++;
    try {
      return await fn();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }

  private async write(id: string, req: BriefingRequest): Promise<Briefing> {
    const deps = this.o.agents;
    const prevRow = await this.o.store.previous(req.workspace, req.name, req.period.to, id);
    const previous = prevRow ? Briefing.parse(JSON.parse(prevRow.body)) : undefined;
    const now = Math.max(Date.now(), req.period.to);
    const services = await knownServices(deps.store, req.workspace, deps.tenantAttribute, req.period.to).catch(() => [] as string[]);
    const usage = { llmCalls: 0, promptTokens: 0, completionTokens: 0 };
    const state = await this.graph.invoke(
      { input: { name: req.name, period: req.period, ...(previous ? { previous } : {}) } },
      {
        context: {
          deps,
          workspace: req.workspace,
          threadId: id,
          sub: req.requestedBy,
          roles: ['sre'],
          trackingId: req.trackingId,
          now,
          services,
          ids: evidenceIds([]),
          emit: () => undefined,
          signal: undefined,
          redactor: new Redactor(deps.policies.privacy),
          usage,
        },
      },
    );
    const evidence = state.runs.flatMap((r) => r.evidence);
    return {
      id,
      workspace: req.workspace,
      name: req.name,
      period: { start: iso(req.period.from), end: iso(req.period.to) },
      created_at: new Date().toISOString(),
      trigger: req.trigger,
      requested_by: req.requestedBy,
      quiet: state.quiet,
      summary: state.summary,
      key_metrics: state.keyMetrics,
      trend_rule: TREND_RULE,
      incidents: state.incidents,
      findings: state.findings,
      recommendations: state.recommendations,
      evidence,
      citations: state.citations,
      charts: state.charts,
      prompts: state.prompts,
      model: state.path === 'model' ? (deps.modelName ?? null) : null,
      grounding: state.grounding as Record<string, unknown> | null,
      path: state.path,
      previous_id: previous?.id ?? null,
      delivery: this.plannedDelivery(req.workspace, req.name, state.quiet),
      gaps: state.runs.filter((r) => r.error).map((r) => r.error!),
      tool_runs: state.runs.map((r) => ({ tool: r.tool, purpose: r.label, elapsed_ms: r.elapsed_ms ?? 0, evidence: r.evidence.length })),
    };
  }

  /** What delivery the schedule asks for: pending entries, or skipped ones for a quiet period the policy does not deliver. */
  private plannedDelivery(workspace: string, name: string, quiet: boolean): Delivery[] {
    const d = this.schedule(workspace, name)?.delivery;
    if (!d) return [];
    const skip = quiet && this.schedule(workspace, name)!.skip_quiet;
    const out: Delivery[] = [];
    if (d.webhook) out.push({ channel: 'webhook', target: d.webhook.url, status: skip ? 'skipped' : 'pending', attempts: 0, at: null });
    if (d.slack) out.push({ channel: 'slack', target: d.slack.channel, status: skip ? 'skipped' : 'pending', attempts: 0, at: null });
    return out;
  }

  private deliverLater(b: Briefing): void {
    if (!b.delivery.some((d) => d.status === 'pending')) return;
    const p = this.deliver(b)
      .catch((err) => this.o.agents.logger.error({ err, briefing: b.id }, 'briefing delivery could not be recorded'))
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  private async deliver(b: Briefing): Promise<void> {
    const s = this.schedule(b.workspace, b.name)!;
    const p = this.o.policy.delivery;
    const link = `${this.o.linkBase.replace(/\/$/, '')}/v1/briefings/${b.id}.html`;
    const results: Delivery[] = [];
    for (const d of b.delivery) {
      if (d.status !== 'pending') {
        results.push(d);
      } else if (d.channel === 'webhook' && s.delivery.webhook) {
        const w = s.delivery.webhook;
        results.push(
          await deliverWebhook(
            b,
            { url: w.url, secret: (this.o.env ?? process.env)[w.secret_env], secretEnv: w.secret_env },
            { attempts: p.attempts, backoffMs: parseDuration(p.backoff)!, timeoutMs: parseDuration(p.timeout)! },
            link,
          ),
        );
      } else if (d.channel === 'slack' && s.delivery.slack) {
        results.push(
          this.o.slack
            ? await deliverSlack(b, this.o.slack, s.delivery.slack.channel, link)
            : { ...d, status: 'failed', at: new Date().toISOString(), error: 'SLACK_BOT_TOKEN is not set' },
        );
      }
    }
    for (const r of results.filter((x) => x.status === 'failed'))
      this.o.agents.logger.warn(
        { briefing: b.id, channel: r.channel, target: r.target, attempts: r.attempts, err: r.error },
        'briefing delivery failed',
      );
    await this.o.store.put(this.row({ ...b, delivery: results }));
  }

  /** Resolves when the deliveries under way have been recorded. */
  async settled(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }

  private row(b: Briefing) {
    return {
      workspace: b.workspace,
      id: b.id,
      name: b.name,
      period_start: Date.parse(b.period.start),
      period_end: Date.parse(b.period.end),
      created_at: Date.parse(b.created_at),
      quiet: b.quiet,
      incidents: b.incidents.filter((i) => i.status !== 'resolved').length,
      summary: b.summary,
      body: JSON.stringify(b),
    };
  }

  async get(workspace: string, id: string): Promise<Briefing | undefined> {
    const row = await this.o.store.get(workspace, id);
    return row ? Briefing.parse(JSON.parse(row.body)) : undefined;
  }

  async list(workspace: string, opts: { name?: string; limit: number }): Promise<BriefingSummary[]> {
    const rows = await this.o.store.list(workspace, opts);
    return rows.map((r) => ({
      id: r.id,
      workspace: r.workspace,
      name: r.name,
      period: { start: iso(r.period_start), end: iso(r.period_end) },
      created_at: iso(r.created_at),
      quiet: r.quiet,
      incidents: r.incidents,
      summary: r.summary,
    }));
  }

  /** The end of the latest stored briefing of a schedule, if any. */
  async latestEnd(workspace: string, name: string): Promise<number | undefined> {
    return (await this.o.store.list(workspace, { name, limit: 1 }))[0]?.period_end;
  }

  /** A period ending at `end` (default: the end of the last complete period on its grid from midnight UTC). */
  static period(lengthMs: number, now: number, end?: number): TimeWindow {
    const to = end ?? Math.floor(now / lengthMs) * lengthMs;
    if (to > now + 60_000)
      throw problems.validation('the period is not valid', [{ field: 'end', message: 'the period cannot end in the future' }]);
    return { from: to - lengthMs, to };
  }
}

export const replicaId = () => randomUUID();
