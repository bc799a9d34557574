import { randomUUID } from 'node:crypto';
import type { Scope } from '../core/scope.ts';
import { parseDuration } from '../core/duration.ts';
import type { Logger } from '../observability/logger.ts';
import type { Policies } from '../policies/schema.ts';
import type { Store } from '../clients/clickhouse.ts';
import type { KnowledgeBase } from '../knowledge/base.ts';
import type { ChatService } from '../conversations/chat.ts';
import { knownServices } from '../tools/telemetry/services.ts';
import { DuplicateAlertThread, type AlertState, type ThreadIndex, type ThreadMeta, type ThreadRecord } from '../storage/threads.ts';
import { alertContext, alertQuestion } from './context.ts';
import { digest, type AlertGroup } from './schema.ts';
import { whenText } from '../core/window.ts';
import { KeyedLock } from '../core/keyed-lock.ts';

type IntakeOutcome = 'investigating' | 'duplicate' | 'still_firing' | 'extended' | 'partly_resolved' | 'resolved' | 'reopened' | 'ignored';

interface IntakeResult {
  thread_id: string | null;
  outcome: IntakeOutcome;
  detail: string;
}

interface IntakeDeps {
  chat: ChatService;
  threads: ThreadIndex;
  policies: Policies;
  logger: Logger;
  store: Store;
  tenantAttribute: string;
  knowledge?: KnowledgeBase;
  now?: () => number;
}

const names = (alerts: AlertState[]) => [...new Set(alerts.map((a) => a.alertname))].join(', ');

/**
 * Alert notifications into threads. The group key maps to one thread per
 * workspace; a notification is compared with the last one of its group:
 * the same again soon is a retry (nothing happens), later a short "still
 * firing" note; new alerts extend the investigation; resolution closes the
 * thread with a summary and records the incident. Notifications of a group
 * are handled one at a time; investigations run in the background, one at a
 * time per thread.
 */
export class AlertIntake {
  /** Notifications of one alert group are handled one at a time, in arrival order. */
  private readonly groups = new KeyedLock();
  private readonly jobs = new Map<string, Promise<void>>();
  private readonly now: () => number;

  constructor(private readonly d: IntakeDeps) {
    this.now = d.now ?? (() => Date.now());
  }

  /** Resolves when every background job started so far is done (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.jobs.size) await Promise.all([...this.jobs.values()]);
  }

  receive(scope: Scope, group: AlertGroup): Promise<IntakeResult> {
    const key = `${scope.workspace}\u0000${group.key}`;
    return this.groups.run(key, () => this.handle(scope, group));
  }

  private async handle(scope: Scope, group: AlertGroup): Promise<IntakeResult> {
    const nowIso = new Date(this.now()).toISOString();
    const d = digest(group);
    let thread = await this.d.threads.byAlertKey(scope.workspace, group.key);
    if (!thread) {
      if (group.status === 'resolved')
        return { thread_id: null, outcome: 'ignored', detail: 'no thread for this group; a resolution alone starts nothing' };
      const meta: ThreadMeta = {
        alert: {
          source: group.source,
          receiver: group.receiver,
          group_labels: group.group_labels,
          common_labels: group.common_labels,
          common_annotations: group.common_annotations,
          external_url: group.external_url,
          alerts: group.alerts,
          last_digest: d,
          last_notified_at: nowIso,
          notifications: 1,
        },
      };
      const first = group.alerts[0]!;
      const service = first.labels.service ?? first.labels.service_name ?? first.labels.app ?? '';
      thread = {
        id: randomUUID(),
        workspace: scope.workspace,
        owner: scope.principal.sub,
        title:
          `${first.alertname}${service ? ` on ${service}` : ''}${group.alerts.length > 1 ? ` (+${group.alerts.length - 1})` : ''}`.slice(
            0,
            120,
          ),
        kind: 'alert',
        status: 'firing',
        created_at: nowIso,
        updated_at: nowIso,
        turns: 0,
        last_path: null,
        alert_key: group.key,
        meta,
      };
      try {
        await this.d.threads.create(thread);
      } catch (err) {
        // Another replica opened it first: this notification is the same one.
        if (err instanceof DuplicateAlertThread)
          return {
            thread_id: (await this.d.threads.byAlertKey(scope.workspace, group.key))?.id ?? null,
            outcome: 'duplicate',
            detail: 'another instance took this notification',
          };
        throw err;
      }
      this.schedule(thread.id, () => this.investigate(scope, thread!.id));
      return { thread_id: thread.id, outcome: 'investigating', detail: `a new investigation of ${names(group.alerts)}` };
    }

    const prev = thread.meta!.alert!;
    const quiet = parseDuration(this.d.policies.alerts.repeat_note_after)!;
    if (d === prev.last_digest && this.now() - Date.parse(prev.last_notified_at) < quiet) {
      return {
        thread_id: thread.id,
        outcome: 'duplicate',
        detail: `the same notification as at ${whenText(Date.parse(prev.last_notified_at), this.now())}; nothing to do`,
      };
    }
    // Merge: the latest state of every alert of the group, by fingerprint.
    const before = new Map(prev.alerts.map((a) => [a.fingerprint, a]));
    const added = group.alerts.filter((a) => a.status === 'firing' && before.get(a.fingerprint)?.status !== 'firing');
    const newlyResolved = group.alerts.filter((a) => a.status === 'resolved' && before.get(a.fingerprint)?.status === 'firing');
    const merged = new Map(before);
    for (const a of group.alerts) merged.set(a.fingerprint, a);
    const alerts = [...merged.values()];
    const meta: ThreadMeta = {
      ...thread.meta,
      alert: {
        ...prev,
        alerts,
        common_labels: group.common_labels,
        common_annotations: group.common_annotations,
        last_digest: d,
        last_notified_at: nowIso,
        notifications: prev.notifications + 1,
      },
    };
    const firing = alerts.filter((a) => a.status === 'firing');
    const id = thread.id;

    if (group.status === 'resolved' || firing.length === 0) {
      if (thread.status === 'resolved') {
        await this.d.threads.update(id, { meta });
        return { thread_id: id, outcome: 'duplicate', detail: 'already resolved' };
      }
      meta.alert!.resolved_at = nowIso;
      await this.d.threads.update(id, { status: 'resolved', updated_at: nowIso, meta });
      this.schedule(id, () => this.resolve(scope, id));
      return { thread_id: id, outcome: 'resolved', detail: 'the group resolved; the thread is closed' };
    }
    if (thread.status === 'resolved') {
      delete meta.alert!.resolved_at;
      await this.d.threads.update(id, { status: 'firing', updated_at: nowIso, meta });
      this.schedule(id, () => this.investigate(scope, id, `The alert fired again (${names(firing)}).`));
      return { thread_id: id, outcome: 'reopened', detail: 'the group fired again; investigating' };
    }
    await this.d.threads.update(id, { updated_at: nowIso, meta });
    if (added.length) {
      this.schedule(id, () =>
        this.investigate(
          scope,
          id,
          `New alerts in this group: ${names(added)}${added[0]!.labels.service ? ` (${added[0]!.labels.service})` : ''}.`,
        ),
      );
      return { thread_id: id, outcome: 'extended', detail: `${added.length} new alert(s) added to the investigation` };
    }
    if (newlyResolved.length) {
      this.schedule(id, () => this.d.chat.append(id, `Resolved: ${names(newlyResolved)}. Still firing: ${names(firing)}.`));
      return {
        thread_id: id,
        outcome: 'partly_resolved',
        detail: `${newlyResolved.length} alert(s) resolved, ${firing.length} still firing`,
      };
    }
    const since = firing.map((a) => a.starts_at).sort()[0]!;
    this.schedule(id, () =>
      this.d.chat.append(
        id,
        `Still firing: ${names(firing)} (${firing.length} alert${firing.length > 1 ? 's' : ''}), since ${whenText(Date.parse(since), this.now())}; notification ${prev.notifications + 1}.`,
      ),
    );
    return { thread_id: id, outcome: 'still_firing', detail: 'a repeat of the group; noted in the thread' };
  }

  /** Background work on a thread, one job at a time; a failure is logged and written into the thread. */
  private schedule(threadId: string, job: () => Promise<unknown>): void {
    const next = (this.jobs.get(threadId) ?? Promise.resolve()).then(async () => {
      try {
        await job();
      } catch (err) {
        this.d.logger.error({ thread_id: threadId, err: (err as Error).message }, 'alert investigation failed');
        await this.d.chat
          .append(threadId, `The investigation could not finish: ${(err as Error).message}. Ask in this thread to try again.`)
          .catch(() => undefined);
      }
    });
    this.jobs.set(threadId, next);
    void next.then(() => {
      if (this.jobs.get(threadId) === next) this.jobs.delete(threadId);
    });
  }

  /** The service investigates on its own, with the roles policy gives alert investigations. */
  private investigatorScope(scope: Scope) {
    return {
      principal: { sub: scope.principal.sub, roles: this.d.policies.alerts.investigate_roles, workspaces: [scope.workspace] },
      workspace: scope.workspace,
      trackingId: scope.trackingId,
    };
  }

  private async investigate(scope: Scope, threadId: string, intro?: string): Promise<void> {
    const thread = (await this.d.threads.get(threadId))!;
    const meta = thread.meta!.alert!;
    const services = await knownServices(this.d.store, scope.workspace, this.d.tenantAttribute);
    const alert = alertContext(
      meta.alerts,
      { labels: meta.common_labels, annotations: meta.common_annotations },
      this.d.policies.alerts,
      services,
    );
    const question = intro ? `${intro} ${alertQuestion(alert, this.now())}` : alertQuestion(alert, this.now());
    await this.d.chat.exclusive(threadId, async () => {
      const fresh = (await this.d.threads.get(threadId))!;
      await this.d.chat.turn(this.investigatorScope(scope), fresh, question, () => undefined, undefined, { alert });
    });
  }

  /** Closes the thread: how long it fired, what was found; the incident goes to the knowledge base. */
  private async resolve(scope: Scope, threadId: string): Promise<void> {
    const thread = (await this.d.threads.get(threadId))!;
    const meta = thread.meta!.alert!;
    const started = meta.alerts.map((a) => a.starts_at).sort()[0]!;
    const resolvedAt = meta.resolved_at ?? new Date(this.now()).toISOString();
    const minutes = Math.max(0, Math.round((Date.parse(resolvedAt) - Date.parse(started)) / 60_000));
    const last = await this.d.chat.latestFinding(threadId);
    const top = last?.meta?.hypotheses.find((h) => !h.explained_by);
    const found = top
      ? `Root cause found: ${top.service}, ${top.kind.replace(/_/g, ' ')} (${top.summary}).`
      : 'No root cause was found in the telemetry.';
    const runbooks = last?.meta?.citations.map((c) => c.action_citation ?? c.citation) ?? [];
    // What was proposed for the alert is not waiting any more: its proposals expire (audited).
    const expired = (await this.d.chat.approvals?.expireThread(scope, threadId, 'the alert resolved')) ?? 0;
    const closed = expired
      ? ` ${expired} pending proposal${expired > 1 ? 's' : ''} expired with it, so nothing proposed here can be approved any more.`
      : '';
    await this.d.chat.append(
      threadId,
      `Resolved at ${whenText(Date.parse(resolvedAt), this.now())} after ${minutes} min (${names(meta.alerts)}). ${found}${runbooks.length ? ` Runbook: ${runbooks.join(', ')}.` : ''}${closed} Recorded as an incident of ${scope.workspace}; the thread is closed.`,
    );
    if (!this.d.knowledge) return;
    const services = await knownServices(this.d.store, scope.workspace, this.d.tenantAttribute);
    const alert = alertContext(
      meta.alerts,
      { labels: meta.common_labels, annotations: meta.common_annotations },
      this.d.policies.alerts,
      services,
    );
    await this.d.chat.incidents.alertResolved(scope, thread, {
      workspace: scope.workspace,
      id: threadId,
      thread_id: threadId,
      source: 'alert',
      created_at: thread.created_at,
      updated_at: resolvedAt,
      question: alertQuestion(alert, this.now()),
      alertname: alert.alertname,
      root_service: top?.service ?? alert.service ?? '',
      root_kind: top?.kind ?? 'unknown',
      summary: `${found} Resolved after ${minutes} min.`,
      evidence: top
        ? (await this.d.chat.evidenceOf(threadId, top.evidence_ids))
            .slice(0, 8)
            .map((e) => ({ id: e.id, kind: e.kind, summary: e.summary.slice(0, 300) }))
        : [],
      runbooks,
    });
  }
}

export type { ThreadRecord };
