import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { problems } from '../core/problem.ts';
import { KeyedLock, LockTimeout } from '../core/keyed-lock.ts';
import { hasRole, type Principal, type Scope } from '../core/scope.ts';
import { evidenceIds } from '../tools/run.ts';
import type { Evidence } from '../core/evidence.ts';
import type { ThreadIndex, ThreadRecord } from '../storage/threads.ts';
import type { AgentDeps, RunContext } from '../agents/context.ts';
import { CHAT_STREAM_SCHEMA, type ChatEvent } from '../core/events.ts';
import type { ChatGraph } from '../agents/orchestrator/graph.ts';
import type { AnswerMeta, ChatStateType, ThreadMessage } from '../agents/orchestrator/state.ts';
import { Redactor } from '../agents/redaction.ts';
import { knownServices } from '../tools/telemetry/services.ts';
import type { ApprovalService, ThreadPoster } from '../actions/approvals.ts';
import type { AlertContext } from '../core/alert.ts';
import type { ApprovalRecord } from '../core/proposal.ts';

/** The answer to one chat turn, as the API returns it. */
export interface ChatAnswer extends Omit<AnswerMeta, 'turn'> {
  thread_id: string;
  turn: number;
  answer: string;
  evidence: Evidence[];
}

interface ThreadView extends ThreadRecord {
  messages: ThreadMessage[];
  evidence: Evidence[];
  approvals: ApprovalRecord[];
}

/** Something outside that follows threads (the Slack adapter). Failures are logged, never the caller's. */
export interface ThreadObserver {
  answered?(thread: ThreadRecord, answer: ChatAnswer): Promise<void>;
  appended?(thread: ThreadRecord, content: string): Promise<void>;
}

/**
 * Runs chat turns on threads: checks who may read or continue a thread, keeps
 * one turn at a time per thread, streams events, and records the outcome.
 */
export class ChatService implements ThreadPoster {
  /** Threads in use: by a person's turn, or by background work (an alert investigation, an action's outcome). */
  private readonly busy = new KeyedLock<'turn' | 'background'>();
  private readonly observers: ThreadObserver[] = [];

  constructor(
    private readonly deps: AgentDeps,
    private readonly graph: ChatGraph,
    readonly threads: ThreadIndex,
    readonly approvals?: ApprovalService,
  ) {
    approvals?.attach(this);
  }

  /** A thread the caller may see: 404 outside the workspace, 403 for another user's without the role. */
  async thread(scope: Scope, id: string): Promise<ThreadRecord> {
    const t = /^[A-Za-z0-9_-]{1,64}$/.test(id) ? await this.threads.get(id) : undefined;
    if (!t || t.workspace !== scope.workspace) throw problems.notFound(`there is no thread ${id} in workspace ${scope.workspace}`);
    if (
      t.owner !== scope.principal.sub &&
      t.kind === 'chat' &&
      !hasRole(scope.principal, ...this.deps.policies.routing.read_others_roles)
    ) {
      throw problems.forbidden(
        `thread ${id} belongs to another user; reading it needs the role ${this.deps.policies.routing.read_others_roles.join(' or ')}`,
      );
    }
    return t;
  }

  async view(scope: Scope, id: string): Promise<ThreadView> {
    const t = await this.thread(scope, id);
    const state = (await this.graph.getState({ configurable: { thread_id: t.id } })).values as Partial<ChatStateType>;
    return {
      ...t,
      messages: state.messages ?? [],
      evidence: state.evidence ?? [],
      approvals: this.approvals ? await this.approvals.byThread(t.id) : [],
    };
  }

  observe(o: ThreadObserver): void {
    this.observers.push(o);
  }

  private async notify(what: string, fn: (o: ThreadObserver) => Promise<void> | undefined): Promise<void> {
    for (const o of this.observers) {
      try {
        await fn(o);
      } catch (err) {
        this.deps.logger.warn({ err: (err as Error).message, what }, 'a thread observer failed');
      }
    }
  }

  /** Runs `fn` when no turn runs on the thread, holding it meanwhile (background work: alerts, action outcomes). */
  exclusive<T>(threadId: string, fn: () => Promise<T>): Promise<T> {
    return this.busy.run(threadId, fn, { tag: 'background', timeoutMs: 300_000 });
  }

  /** Adds a message (and evidence) to a thread from outside a turn: an action's outcome, a later check. Waits for a running turn. */
  async append(threadId: string, content: string, evidence: Evidence[] = []): Promise<void> {
    await this.exclusive(threadId, async () => {
      const config = { configurable: { thread_id: threadId } };
      const state = (await this.graph.getState(config)).values as Partial<ChatStateType>;
      const at = new Date().toISOString();
      await this.graph.updateState(
        config,
        { messages: [{ role: 'assistant', content, at, turn: state.turn ?? 0 }], ...(evidence.length ? { evidence } : {}) },
        'respond',
      );
      await this.threads.update(threadId, { updated_at: at });
    });
    const thread = await this.threads.get(threadId);
    if (thread) await this.notify('appended', (o) => o.appended?.(thread, content));
  }

  /** The last answer of a thread with how it was made (for summaries). */
  async lastAnswer(threadId: string): Promise<ThreadMessage | undefined> {
    const state = (await this.graph.getState({ configurable: { thread_id: threadId } })).values as Partial<ChatStateType>;
    return [...(state.messages ?? [])].reverse().find((m) => m.role === 'assistant' && m.meta);
  }

  /** Evidence items of a thread by id. */
  async evidenceOf(threadId: string, ids: string[]): Promise<Evidence[]> {
    const state = (await this.graph.getState({ configurable: { thread_id: threadId } })).values as Partial<ChatStateType>;
    const wanted = new Set(ids);
    return (state.evidence ?? []).filter((e) => wanted.has(e.id));
  }

  async evidenceIds(threadId: string): Promise<string[]> {
    const state = (await this.graph.getState({ configurable: { thread_id: threadId } })).values as Partial<ChatStateType>;
    return (state.evidence ?? []).map((e) => e.id);
  }

  list(scope: Scope, q: { kind?: ThreadRecord['kind']; status?: ThreadRecord['status']; limit: number; all?: boolean }) {
    const others = q.all && hasRole(scope.principal, ...this.deps.policies.routing.read_others_roles);
    return this.threads.list({
      workspace: scope.workspace,
      owner: others || q.kind === 'alert' ? undefined : scope.principal.sub,
      kind: q.kind,
      status: q.status,
      limit: q.limit,
    });
  }

  /** A new thread owned by the caller. */
  async open(scope: Scope, title: string, extra: Partial<ThreadRecord> = {}): Promise<ThreadRecord> {
    const now = new Date().toISOString();
    const t: ThreadRecord = {
      id: randomUUID(),
      workspace: scope.workspace,
      owner: scope.principal.sub,
      title: title.replace(/\s+/g, ' ').trim().slice(0, 120),
      kind: 'chat',
      status: 'open',
      created_at: now,
      updated_at: now,
      turns: 0,
      last_path: null,
      alert_key: null,
      ...extra,
    };
    await this.threads.create(t);
    return t;
  }

  /** Checks the caller may chat at all. */
  authorise(principal: Principal): void {
    const roles = this.deps.policies.routing.chat_roles;
    if (!hasRole(principal, ...roles)) throw problems.forbidden(`chat needs one of the roles ${roles.join(', ')}`);
  }

  /**
   * Claims a thread for a person's turn: 409 while another person's turn runs
   * (or waits) on it; background work (an alert investigation) is waited for,
   * up to two minutes.
   */
  async claim(threadId: string): Promise<() => void> {
    const conflict = () => problems.conflict(`thread ${threadId} is answering another message; send yours when it is done`);
    if (this.busy.tags(threadId).includes('turn')) throw conflict();
    try {
      return await this.busy.acquire(threadId, 'turn', { timeoutMs: 120_000 });
    } catch (err) {
      if (err instanceof LockTimeout) throw conflict();
      throw err;
    }
  }

  /**
   * A turn that found a root cause is an incident of the workspace: kept (one
   * per thread, later turns replace it) so the next similar one finds it.
   */
  private async remember(scope: Scope, thread: ThreadRecord, turn: number, message: string, answer: ChatAnswer): Promise<void> {
    const top = answer.hypotheses.find((h) => !h.explained_by);
    if (!top || !this.deps.knowledge) return;
    const byId = new Map(answer.evidence.map((e) => [e.id, e]));
    const firstParagraph = answer.answer
      .split(/\n\n/)[0]!
      .replace(/\s*(\[[a-z]+\d+\])+/g, '')
      .trim();
    try {
      await this.deps.knowledge.recordIncident({
        workspace: scope.workspace,
        id: thread.id,
        thread_id: thread.id,
        source: thread.kind === 'alert' ? 'alert' : 'chat',
        created_at: thread.created_at,
        updated_at: new Date().toISOString(),
        question: (turn === 1 ? message : `${thread.title} / ${message}`).slice(0, 1000),
        alertname: thread.meta?.alert?.alerts[0]?.alertname ?? '',
        root_service: top.service,
        root_kind: top.kind,
        summary: firstParagraph.slice(0, 800),
        evidence: top.evidence_ids
          .flatMap((id) => (byId.has(id) ? [{ id, kind: byId.get(id)!.kind, summary: byId.get(id)!.summary.slice(0, 300) }] : []))
          .slice(0, 8),
        runbooks: answer.citations.map((c) => c.citation),
      });
    } catch (err) {
      this.deps.logger.warn(
        { tracking_id: scope.trackingId, thread_id: thread.id, err: (err as Error).message },
        'the incident could not be recorded',
      );
    }
  }

  /** One turn: the graph from intake to respond, with events as they happen. */
  async turn(
    scope: Scope,
    thread: ThreadRecord,
    message: string,
    emit: (e: ChatEvent) => void,
    signal?: AbortSignal,
    opts: { alert?: AlertContext } = {},
  ): Promise<ChatAnswer> {
    const runId = randomUUID();
    // Every query of the run listens to the signal; dozens run in parallel.
    if (signal) setMaxListeners(500, signal);
    const config = { configurable: { thread_id: thread.id } };
    const before = (await this.graph.getState(config)).values as Partial<ChatStateType>;
    const turn = (before.turn ?? 0) + 1;
    emit({ event: 'run.started', data: { run_id: runId, thread_id: thread.id, turn, schema: CHAT_STREAM_SCHEMA } });
    const rc: RunContext = {
      deps: this.deps,
      workspace: scope.workspace,
      threadId: thread.id,
      sub: scope.principal.sub,
      roles: scope.principal.roles,
      trackingId: scope.trackingId,
      now: Date.now(),
      services: await knownServices(this.deps.store, scope.workspace, this.deps.tenantAttribute),
      ids: evidenceIds((before.evidence ?? []).map((e) => e.id)),
      emit,
      signal,
      redactor: new Redactor(this.deps.policies.privacy),
      usage: { llmCalls: 0, promptTokens: 0, completionTokens: 0 },
    };
    const final = (await this.graph.invoke(
      { question: message, alert: opts.alert ?? null },
      { ...config, context: rc, signal },
    )) as ChatStateType;
    const { text, meta } = final.answer!;
    const ids = new Set(meta.evidence_ids);
    await this.threads.update(thread.id, { turns: turn, updated_at: new Date().toISOString(), last_path: meta.path });
    const answer: ChatAnswer = { thread_id: thread.id, ...meta, turn, answer: text, evidence: final.evidence.filter((e) => ids.has(e.id)) };
    if (this.approvals) {
      // Proposals become pending approvals (and approval.required events) before the answer goes out.
      await this.approvals.register(scope, thread.id, final.proposals, emit);
      if (final.dropped.length) await this.approvals.dropped(scope, thread.id, final.dropped);
    }
    await this.remember(scope, thread, turn, message, answer);
    await this.notify('answered', (o) => o.answered?.(thread, answer));
    emit({ event: 'answer', data: answer });
    emit({ event: 'done', data: { run_id: runId } });
    return answer;
  }
}
