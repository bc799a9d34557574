/** A message for chat.postMessage: plain text (the notification fallback) and Block Kit blocks. */
interface SlackMessage {
  channel: string;
  text: string;
  blocks?: unknown[];
  thread_ts?: string;
}

class SlackError extends Error {}

/** The part of Slack's Web API the adapter uses: chat.postMessage with a bot token. */
export class SlackClient {
  constructor(
    private readonly apiUrl: string,
    private readonly botToken: string,
    private readonly timeoutMs = 10_000,
  ) {}

  async postMessage(m: SlackMessage): Promise<{ channel: string; ts: string }> {
    for (let attempt = 1; ; attempt++) {
      const res = await fetch(`${this.apiUrl.replace(/\/$/, '')}/chat.postMessage`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${this.botToken}`, 'Content-Type': 'application/json; charset=utf-8' },
        body: JSON.stringify({ ...m, unfurl_links: false }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      // Rate limited: wait as told (bounded), once.
      if (res.status === 429 && attempt === 1) {
        const wait = Math.min(10, Number(res.headers.get('retry-after') ?? '1') || 1);
        await res.body?.cancel();
        await new Promise((r) => setTimeout(r, wait * 1000));
        continue;
      }
      const body = (await res.json().catch(() => ({}))) as { ok?: boolean; error?: string; ts?: string; channel?: string };
      if (!res.ok || !body.ok || !body.ts) throw new SlackError(`chat.postMessage failed: ${body.error ?? `HTTP ${res.status}`}`);
      return { channel: body.channel ?? m.channel, ts: body.ts };
    }
  }
}
