import { randomUUID } from 'node:crypto';
import { ThreadAccess } from './thread-access.ts';
import { IncidentRecorder } from './incidents.ts';
import { setMaxListeners } from 'node:events';
import { problems } from '../core/problem.ts';
import { KeyedLock, LockTimeout } from '../core/keyed-lock.ts';
import type { Principal, Scope } from '../core/scope.ts';
import { evidenceIds } from '../tools/run.ts';
import type { Evidence } from '../core/evidence.ts';
import type { ThreadIndex, ThreadRecord } from '../storage/threads.ts';
import type { AgentDeps, RunContext } from '../agents/context.ts';
import { CHAT_STREAM_SCHEMA, type ChatEvent } from '../core/events.ts';
import type { ChatGraph } from '../agents/orchestrator/graph.ts';
import type { AnswerMeta, ChatStateType, ThreadMessage } from '../agents/orchestrator/state.ts';
import { Redactor } from '../policies/redaction.ts';
import { knownServices } from '../tools/telemetry/services.ts';
import type { ApprovalService, ThreadPoster } from '../actions/approvals.ts';
import type { AlertContext } from '../core/alert.ts';
import type { ApprovalRecord } from '../core/proposal.ts';
import { inSpan } from '../observability/tracing.ts';

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
 * Runs chat turns on threads: one turn at a time per thread (background work
 * waits its turn), events streamed as they happen, the outcome recorded.
 * Access rules are ThreadAccess's; remembering incidents is IncidentRecorder's.
 */
export class ChatService implements ThreadPoster {
  /** Threads in use: by a person's turn, or by background work (an alert investigation, an action's outcome). */
  private readonly busy = new KeyedLock<'turn' | 'background'>();
  private readonly observers: ThreadObserver[] = [];
  /** Who may see, list, open and continue threads. */
  readonly access: ThreadAccess;
  /** Investigations that found a root cause, kept as incidents for `similar_incidents`. */
  readonly incidents: IncidentRecorder;

  constructor(
    private readonly deps: AgentDeps,
    private readonly graph: ChatGraph,
    readonly threads: ThreadIndex,
    readonly approvals?: ApprovalService,
  ) {
    this.access = new ThreadAccess(threads, deps.policies.routing);
    this.incidents = new IncidentRecorder(deps);
    if (approvals) {
      // A turn points at the workspace's pending proposal rather than making the same one again.
      this.deps = { ...deps, pendingProposal: (workspace, action, target) => approvals.pending(workspace, action, target) };
      approvals.attach(this);
    }
  }

  thread(scope: Scope, id: string): Promise<ThreadRecord> {
    return this.access.thread(scope, id);
  }

  list(scope: Scope, q: Parameters<ThreadAccess['list']>[1]) {
    return this.access.list(scope, q);
  }

  open(scope: Scope, title: string, extra: Partial<ThreadRecord> = {}): Promise<ThreadRecord> {
    return this.access.open(scope, title, extra);
  }

  authorise(principal: Principal): void {
    this.access.authorise(principal);
  }

  async view(scope: Scope, id: string): Promise<ThreadView> {
    const t = await this.thread(scope, id);
    const state = await this.state(t.id);
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
      const state = await this.state(threadId);
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

  /** A thread's saved state (empty for a thread with no turn yet): the one place it is read. */
  private async state(threadId: string): Promise<Partial<ChatStateType>> {
    const snapshot = await this.graph.getState({ configurable: { thread_id: threadId } });
    return snapshot.values as Partial<ChatStateType>;
  }

  /** The last answer of a thread with how it was made (for summaries). */
  /**
   * The thread's latest answer that named a root cause, else its latest
   * answer: a later follow-up ("what version ran before?") does not undo
   * what the investigation found.
   */
  async latestFinding(threadId: string): Promise<ThreadMessage | undefined> {
    const state = await this.state(threadId);
    const answers = [...(state.messages ?? [])].reverse().filter((m) => m.role === 'assistant' && m.meta);
    return answers.find((m) => m.meta!.hypotheses.some((h) => !h.explained_by)) ?? answers[0];
  }

  /** Evidence items of a thread by id. */
  async evidenceOf(threadId: string, ids: string[]): Promise<Evidence[]> {
    const state = await this.state(threadId);
    const wanted = new Set(ids);
    return (state.evidence ?? []).filter((e) => wanted.has(e.id));
  }

  /** The thread's owner and everyone who asked in it. */
  async participants(threadId: string): Promise<string[]> {
    const thread = await this.threads.get(threadId);
    const state = await this.state(threadId);
    const askers = (state.messages ?? []).filter((m) => m.role === 'user' && m.by).map((m) => m.by!);
    return [...new Set([...(thread ? [thread.owner] : []), ...askers])];
  }

  async evidenceIds(threadId: string): Promise<string[]> {
    const state = await this.state(threadId);
    return (state.evidence ?? []).map((e) => e.id);
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
   * One turn: the graph from intake to respond, with events as they happen.
   * The run is a span (child of the request's) and a `turn` fact: kind, path,
   * intent, specialists, model and prompt version, whether the narrator
   * stood in for the model.
   */
  async turn(
    scope: Scope,
    thread: ThreadRecord,
    message: string,
    emit: (e: ChatEvent) => void,
    signal?: AbortSignal,
    opts: { alert?: AlertContext } = {},
  ): Promise<ChatAnswer> {
    const kind = opts.alert ? 'alert' : 'chat';
    const started = performance.now();
    const { facts, metrics, tracer } = this.deps;
    const attrs: Record<string, string> = {
      kind,
      thread_id: thread.id,
      sub: scope.principal.sub,
      model: this.deps.model ? (this.deps.modelName ?? 'model') : '',
      ...(opts.alert ? { severity: opts.alert.severity, alertname: opts.alert.alertname } : {}),
    };
    try {
      if (this.deps.model) attrs.prompt_version = String(this.deps.prompts.get('synthesize').version);
    } catch {
      // No synthesis prompt: nothing to compare versions by.
    }
    const record = (status: 'ok' | 'error', answer?: ChatAnswer) => {
      const seconds = (performance.now() - started) / 1000;
      const fallback = !!this.deps.model && answer?.path === 'deterministic' && /^the model/.test(answer.fallback_reason ?? '');
      metrics?.turnDuration.observe({ kind }, seconds);
      metrics?.investigations.inc({ kind, path: answer?.path ?? 'error' });
      if (fallback) metrics?.narratorFallbacks.inc({ kind });
      facts?.record({
        kind: 'turn',
        trackingId: scope.trackingId,
        workspace: scope.workspace,
        name: kind,
        status,
        durationMs: seconds * 1000,
        attrs: answer
          ? { ...attrs, path: answer.path, intent: answer.intent, agents: answer.agents.join(','), fallback: fallback ? '1' : '0' }
          : attrs,
        nums: answer
          ? {
              llm_calls: answer.usage.llm_calls,
              prompt_tokens: answer.usage.prompt_tokens,
              completion_tokens: answer.usage.completion_tokens,
              proposals: answer.approvals.length,
            }
          : {},
      });
    };
    return inSpan(
      tracer,
      `invoke_agent ${kind}`,
      { 'gen_ai.operation.name': 'invoke_agent', 'aiops.thread_id': thread.id },
      async (span) => {
        try {
          const answer = await this.runTurn(scope, thread, message, emit, signal, opts);
          span.setAttributes({ 'aiops.path': answer.path, 'aiops.intent': answer.intent });
          record('ok', answer);
          return answer;
        } catch (err) {
          record('error');
          throw err;
        }
      },
    );
  }

  private async runTurn(
    scope: Scope,
    thread: ThreadRecord,
    message: string,
    emit: (e: ChatEvent) => void,
    signal: AbortSignal | undefined,
    opts: { alert?: AlertContext },
  ): Promise<ChatAnswer> {
    const runId = randomUUID();
    // Every query of the run listens to the signal; dozens run in parallel.
    if (signal) setMaxListeners(500, signal);
    const config = { configurable: { thread_id: thread.id } };
    const before = await this.state(thread.id);
    const turn = (before.turn ?? 0) + 1;
    emit({ event: 'run.started', data: { run_id: runId, thread_id: thread.id, turn, schema: CHAT_STREAM_SCHEMA } });
    const rc: RunContext = {
      deps: this.deps,
      workspace: scope.workspace,
      threadId: thread.id,
      sub: scope.principal.sub,
      roles: scope.principal.roles,
      trackingId: scope.trackingId,
      now: this.deps.now?.() ?? Date.now(),
      services: await knownServices(this.deps.store, scope.workspace, this.deps.tenantAttribute),
      ids: evidenceIds((before.evidence ?? []).map((e) => e.id)),
      emit,
      signal,
      redactor: new Redactor(this.deps.policies.privacy),
      usage: { llmCalls: 0, promptTokens: 0, completionTokens: 0 },
    };
    // One checkpoint when the turn ends, not one per step: a turn that fails halfway leaves the thread as it was.
    const final = await this.graph.invoke(
      { question: message, alert: opts.alert ?? null },
      { ...config, context: rc, signal, durability: 'exit' },
    );
    const { text, meta } = final.answer!;
    const ids = new Set(meta.evidence_ids);
    await this.threads.update(thread.id, { turns: turn, updated_at: new Date().toISOString(), last_path: meta.path });
    const answer: ChatAnswer = { thread_id: thread.id, ...meta, turn, answer: text, evidence: final.evidence.filter((e) => ids.has(e.id)) };
    if (this.approvals) {
      // Proposals become pending approvals (and approval.required events) before the answer goes out.
      await this.approvals.register(scope, thread.id, final.proposals, emit);
      if (final.dropped.length) await this.approvals.dropped(scope, thread.id, final.dropped);
    }
    await this.incidents.remember(scope, thread, turn, message, answer);
    await this.notify('answered', (o) => o.answered?.(thread, answer));
    emit({ event: 'answer', data: answer });
    emit({ event: 'done', data: { run_id: runId } });
    return answer;
  }
}
