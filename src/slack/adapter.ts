import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Logger } from '../observability/logger.ts';
import type { Policies } from '../policies/schema.ts';
import type { ChatAnswer, ChatService, ThreadObserver } from '../conversations/chat.ts';
import type { ThreadIndex, ThreadRecord } from '../storage/threads.ts';
import type { SlackClient } from '../clients/slack.ts';
import { KeyedLock } from '../core/keyed-lock.ts';

/** The Events API envelope: the URL check, or an event. */
export const SlackEnvelope = z.discriminatedUnion('type', [
  z.object({ type: z.literal('url_verification'), challenge: z.string().max(200) }).passthrough(),
  z
    .object({
      type: z.literal('event_callback'),
      event_id: z.string().min(1).max(100),
      team_id: z.string().optional(),
      event: z
        .object({
          type: z.string(),
          subtype: z.string().optional(),
          user: z.string().optional(),
          bot_id: z.string().optional(),
          text: z.string().max(40_000).optional(),
          channel: z.string().optional(),
          ts: z.string().optional(),
          thread_ts: z.string().optional(),
        })
        .passthrough(),
    })
    .passthrough(),
]);
export type SlackEnvelope = z.infer<typeof SlackEnvelope>;

/** Slack mrkdwn: &, < and > are the only characters to escape. */
const escapeMrkdwn = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Section blocks of at most 3000 characters (Slack's limit), split at paragraphs. */
function sections(text: string): unknown[] {
  const out: unknown[] = [];
  let current = '';
  for (const para of escapeMrkdwn(text).split('\n\n')) {
    if (current && current.length + para.length + 2 > 2900) {
      out.push({ type: 'section', text: { type: 'mrkdwn', text: current } });
      current = '';
    }
    current = current ? `${current}\n\n${para}` : para.slice(0, 2900);
  }
  if (current) out.push({ type: 'section', text: { type: 'mrkdwn', text: current } });
  return out.slice(0, 45);
}

/**
 * Alert threads in Slack: the investigation, its follow-ups and its outcome
 * as replies under one message per alert group; people's replies there
 * become follow-up turns, as the Slack user mapped in policies/slack.yaml.
 * Approvals are never taken from Slack: a click carries no control-plane
 * token, so a proposal links to the platform UI.
 */
export class SlackAdapter implements ThreadObserver {
  private readonly seen = new Map<string, number>();
  /** One root message per alert thread, even when several replies race to create it. */
  private readonly rootLocks = new KeyedLock();
  private readonly work = new Set<Promise<void>>();

  constructor(
    private readonly client: SlackClient,
    private readonly policy: Policies['slack'],
    private readonly threads: ThreadIndex,
    private readonly chat: ChatService,
    private readonly logger: Logger,
  ) {
    chat.observe(this);
  }

  /** Resolves when events being handled in the background are done (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.work.size) await Promise.all([...this.work]);
  }

  /** The Slack thread of an alert thread: posted once, when there is something to say. */
  private async root(thread: ThreadRecord): Promise<{ channel: string; ts: string } | undefined> {
    if (thread.meta?.slack) return thread.meta.slack;
    const channel = this.policy.channels[thread.workspace];
    if (thread.kind !== 'alert' || !channel) return undefined;
    return this.rootLocks.run(thread.id, async () => {
      const fresh = (await this.threads.get(thread.id))!;
      if (fresh.meta?.slack) return fresh.meta.slack;
      const alert = fresh.meta?.alert;
      const firing = alert?.alerts.filter((a) => a.status === 'firing') ?? [];
      const summary = alert?.common_annotations.summary ?? firing[0]?.annotations.summary ?? '';
      const text = `:rotating_light: *${escapeMrkdwn(fresh.title)}* ${fresh.status === 'resolved' ? 'resolved' : 'firing'}${alert?.common_labels.severity ? ` (${escapeMrkdwn(alert.common_labels.severity)})` : ''}${summary ? `: ${escapeMrkdwn(summary)}` : ''}`;
      const posted = await this.client.postMessage({
        channel,
        text,
        blocks: [
          { type: 'section', text: { type: 'mrkdwn', text } },
          {
            type: 'context',
            elements: [
              { type: 'mrkdwn', text: `workspace ${escapeMrkdwn(fresh.workspace)} · thread ${fresh.id} · reply here to ask the agents` },
            ],
          },
        ],
      });
      const slack = { channel: posted.channel, ts: posted.ts };
      await this.threads.update(fresh.id, { meta: { ...fresh.meta, slack } });
      return slack;
    });
  }

  private approvalLink(threadId: string, approvalId: string): string {
    if (!this.policy.approval_url) return `POST /v1/threads/${threadId}/approvals/${approvalId} with your own token`;
    const u = new URL(this.policy.approval_url);
    u.searchParams.set('thread', threadId);
    u.searchParams.set('approval', approvalId);
    return `<${escapeMrkdwn(u.toString())}|approve or reject in the platform UI>`;
  }

  async answered(thread: ThreadRecord, answer: ChatAnswer): Promise<void> {
    const root = await this.root(thread);
    if (!root) return;
    const blocks: unknown[] = [...sections(answer.answer)];
    for (const a of answer.approvals) {
      blocks.push({
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: `*Proposed:* ${escapeMrkdwn(a.summary)} (risk ${a.risk}; approvers: ${escapeMrkdwn(a.approvers.join(' or '))}). Not approvable from Slack: ${this.approvalLink(thread.id, a.approval_id)}.`,
        },
      });
    }
    blocks.push({
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: `${answer.path === 'llm' ? `written by ${escapeMrkdwn(answer.model ?? 'the model')}` : 'deterministic narrator'} · ${answer.evidence.length} evidence items · turn ${answer.turn}`,
        },
      ],
    });
    await this.client.postMessage({ channel: root.channel, thread_ts: root.ts, text: answer.answer.slice(0, 3000), blocks });
  }

  async appended(thread: ThreadRecord, content: string): Promise<void> {
    const root = await this.root(thread);
    if (!root) return;
    await this.client.postMessage({ channel: root.channel, thread_ts: root.ts, text: content.slice(0, 3000), blocks: sections(content) });
  }

  /**
   * An Events API delivery, already verified. Answers at once; the work goes
   * on in the background. A retry of an event already taken is dropped.
   */
  receive(envelope: SlackEnvelope, trackingId: string): { challenge?: string; handled: 'challenge' | 'queued' | 'duplicate' | 'ignored' } {
    if (envelope.type === 'url_verification') return { challenge: envelope.challenge, handled: 'challenge' };
    const now = Date.now();
    for (const [id, at] of this.seen) if (now - at > 3_600_000 || this.seen.size > 10_000) this.seen.delete(id);
    if (this.seen.has(envelope.event_id)) return { handled: 'duplicate' };
    this.seen.set(envelope.event_id, now);
    const e = envelope.event;
    const isReply =
      (e.type === 'message' || e.type === 'app_mention') &&
      !e.subtype &&
      !e.bot_id &&
      e.user &&
      e.channel &&
      e.thread_ts &&
      e.thread_ts !== e.ts &&
      e.text;
    if (!isReply) return { handled: 'ignored' };
    const job = this.reply(e.channel!, e.thread_ts!, e.user!, e.text!, trackingId).catch((err: unknown) =>
      this.logger.warn({ tracking_id: trackingId, err: (err as Error).message }, 'a Slack reply could not be handled'),
    );
    this.work.add(job);
    void job.finally(() => this.work.delete(job));
    return { handled: 'queued' };
  }

  /** A person's reply in an alert's Slack thread: a follow-up turn as the mapped user, for reading and replying only. */
  private async reply(channel: string, threadTs: string, user: string, text: string, trackingId: string): Promise<void> {
    const thread = await this.threads.bySlack(channel, threadTs);
    if (!thread) return;
    const who = this.policy.users[user];
    if (!who || who.workspace !== thread.workspace) {
      this.logger.warn(
        { tracking_id: trackingId, slack_user: user, thread_id: thread.id },
        'a Slack user without a mapping to this workspace replied; ignored',
      );
      await this.client.postMessage({
        channel,
        thread_ts: threadTs,
        text: `<@${user}>, your Slack user is not mapped to workspace ${thread.workspace} (policies/slack.yaml), so I cannot answer you here.`,
      });
      return;
    }
    const principal = { sub: `slack:${user}`, roles: who.roles, workspaces: [who.workspace] };
    const message = text.replace(/<@[A-Z0-9]+>/g, '').trim();
    if (!message) return;
    try {
      this.chat.authorise(principal);
    } catch {
      await this.client.postMessage({
        channel,
        thread_ts: threadTs,
        text: `<@${user}>, your mapped roles (${who.roles.join(', ')}) do not allow asking the agents.`,
      });
      return;
    }
    let release: () => void;
    try {
      release = await this.chat.claim(thread.id);
    } catch {
      await this.client.postMessage({
        channel,
        thread_ts: threadTs,
        text: `<@${user}>, I am answering another message in this thread; send yours again when it is done.`,
      });
      return;
    }
    try {
      // The answer reaches Slack through `answered`.
      await this.chat.turn(
        { principal, workspace: who.workspace, trackingId: trackingId || randomUUID() },
        thread,
        message.slice(0, 4000),
        () => undefined,
      );
    } finally {
      release();
    }
  }
}
