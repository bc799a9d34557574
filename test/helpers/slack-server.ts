import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface PostedMessage {
  channel: string;
  text: string;
  thread_ts?: string;
  blocks?: { type: string; text?: { type: string; text: string } }[];
  token: string;
}

/** Slack's Web API as the adapter uses it: chat.postMessage with a bot token, answering { ok, channel, ts }. */
export async function slackServer(botToken: string) {
  const posted: PostedMessage[] = [];
  let n = 0;
  const server = http.createServer(async (req, res) => {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    res.setHeader('Content-Type', 'application/json');
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
    if (req.url !== '/api/chat.postMessage' || req.method !== 'POST')
      return void res.end(JSON.stringify({ ok: false, error: 'unknown_method' }));
    if (token !== botToken) return void res.end(JSON.stringify({ ok: false, error: 'invalid_auth' }));
    const body = JSON.parse(raw) as PostedMessage;
    if (!body.channel || typeof body.text !== 'string') return void res.end(JSON.stringify({ ok: false, error: 'invalid_arguments' }));
    if (body.blocks && (!Array.isArray(body.blocks) || body.blocks.length > 50))
      return void res.end(JSON.stringify({ ok: false, error: 'invalid_blocks' }));
    posted.push({ ...body, token });
    res.end(JSON.stringify({ ok: true, channel: body.channel, ts: `1700000000.${String(++n).padStart(6, '0')}` }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`,
    posted,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
