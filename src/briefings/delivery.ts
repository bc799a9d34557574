import { createHmac } from 'node:crypto';
import type { SlackClient } from '../clients/slack.ts';
import type { Briefing, Delivery } from './types.ts';

/** The header carrying the signature: `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`. */
export const SIGNATURE_HEADER = 'X-Aiops-Signature';
export const TIMESTAMP_HEADER = 'X-Aiops-Timestamp';
export const IDEMPOTENCY_HEADER = 'Idempotency-Key';

/** The signature a receiver recomputes with the shared secret. */
export function signBody(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export interface RetryPolicy {
  attempts: number;
  backoffMs: number;
  timeoutMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Posts the briefing as JSON (without its evidence items, with a link to the page), signed, with the briefing id as idempotency key
 * (a receiver that saw it already can ignore a retry). A 5xx, 408, 429 or a
 * network failure is retried with doubling pauses; a 4xx is not. The result,
 * failure included, is recorded on the briefing.
 */
export async function deliverWebhook(
  briefing: Briefing,
  target: { url: string; secret: string | undefined; secretEnv: string },
  retry: RetryPolicy,
  link: string,
): Promise<Delivery> {
  const base: Delivery = { channel: 'webhook', target: target.url, status: 'failed', attempts: 0, at: null };
  if (!target.secret) return { ...base, error: `the environment variable ${target.secretEnv} holding the webhook secret is not set` };
  const { evidence: _e, ...rest } = briefing;
  const body = JSON.stringify({ ...rest, link, evidence_count: briefing.evidence.length });
  let error = '';
  for (let attempt = 1; attempt <= retry.attempts; attempt++) {
    if (attempt > 1) await sleep(retry.backoffMs * 2 ** (attempt - 2));
    const timestamp = String(Math.floor(Date.now() / 1000));
    try {
      const res = await fetch(target.url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          [SIGNATURE_HEADER]: signBody(target.secret, timestamp, body),
          [TIMESTAMP_HEADER]: timestamp,
          [IDEMPOTENCY_HEADER]: briefing.id,
        },
        body,
        signal: AbortSignal.timeout(retry.timeoutMs),
      });
      await res.body?.cancel();
      if (res.ok) return { ...base, status: 'delivered', attempts: attempt, at: new Date().toISOString() };
      error = `HTTP ${res.status}`;
      if (res.status < 500 && res.status !== 408 && res.status !== 429)
        return { ...base, attempts: attempt, at: new Date().toISOString(), error };
    } catch (err) {
      error = (err as Error).message;
    }
    base.attempts = attempt;
  }
  return { ...base, at: new Date().toISOString(), error };
}

const SEVERITY_ICON: Record<string, string> = {
  critical: ':red_circle:',
  major: ':large_orange_circle:',
  minor: ':large_yellow_circle:',
  info: ':white_circle:',
};

/** Slack mrkdwn needs &, < and > escaped; telemetry text may hold any of them. */
const slackText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A Block Kit summary with a link to the whole briefing. */
export function slackBlocks(b: Briefing, link: string): { text: string; blocks: unknown[] } {
  const title = `${b.quiet ? 'All quiet' : `${b.incidents.filter((i) => i.status !== 'resolved').length} incident(s)`}: ${b.workspace} ${b.name} briefing`;
  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: title.slice(0, 150) } },
    { type: 'section', text: { type: 'mrkdwn', text: slackText(b.summary).slice(0, 2900) } },
  ];
  const incidents = b.incidents.slice(0, 5);
  if (incidents.length) {
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: incidents
          .map((i) => `${SEVERITY_ICON[i.severity] ?? ''} *${i.status}* ${slackText(i.origin)}: ${slackText(i.summary)}`.slice(0, 500))
          .join('\n'),
      },
    });
  }
  blocks.push({
    type: 'actions',
    elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open the briefing' }, url: link }],
  });
  return { text: title, blocks };
}

export async function deliverSlack(b: Briefing, client: SlackClient, channel: string, link: string): Promise<Delivery> {
  const base: Delivery = { channel: 'slack', target: channel, status: 'failed', attempts: 1, at: null };
  try {
    await client.postMessage({ channel, ...slackBlocks(b, link) });
    return { ...base, status: 'delivered', at: new Date().toISOString() };
  } catch (err) {
    return { ...base, at: new Date().toISOString(), error: (err as Error).message };
  }
}
