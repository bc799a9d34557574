import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface OllamaRequest {
  model: string;
  messages: { role: string; content: string }[];
  stream?: boolean;
  format?: unknown;
  options?: Record<string, unknown>;
}

/**
 * A small server that speaks Ollama's /api/chat as its docs describe it:
 * NDJSON chunks ending with a `done` object carrying the counts, or one JSON
 * object with `"stream": false`; `format` (json or a JSON schema) for
 * structured output; errors as `{"error": "..."}`. It checks requests and
 * records them.
 */
export async function ollamaServer(
  reply: (req: OllamaRequest) => { content: string } | { status: number; error: string },
  opts: { embed?: (text: string) => number[] } = {},
) {
  const requests: OllamaRequest[] = [];
  const embedRequests: { model: string; input: string[] }[] = [];
  const embed = opts.embed ?? hashedEmbedding;
  const server = http.createServer(async (req, res) => {
    if (req.method === 'GET' && req.url === '/api/version') return void res.end(JSON.stringify({ version: '0.12.0' }));
    if (req.method === 'POST' && req.url === '/api/embed') {
      let raw = '';
      for await (const chunk of req) raw += chunk;
      const body = JSON.parse(raw) as { model?: unknown; input?: unknown };
      const input = typeof body.input === 'string' ? [body.input] : body.input;
      res.setHeader('Content-Type', 'application/json');
      if (typeof body.model !== 'string' || !Array.isArray(input) || !input.every((t) => typeof t === 'string')) {
        res.statusCode = 400;
        return void res.end(JSON.stringify({ error: 'invalid input type' }));
      }
      embedRequests.push({ model: body.model, input: input as string[] });
      return void res.end(
        JSON.stringify({
          model: body.model,
          embeddings: (input as string[]).map(embed),
          total_duration: 1_000_000,
          load_duration: 1000,
          prompt_eval_count: raw.length / 4,
        }),
      );
    }
    if (req.method !== 'POST' || req.url !== '/api/chat') {
      res.statusCode = 404;
      return void res.end(JSON.stringify({ error: 'not found' }));
    }
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const body = JSON.parse(raw) as OllamaRequest;
    const valid =
      typeof body.model === 'string' &&
      Array.isArray(body.messages) &&
      body.messages.every((m) => ['system', 'user', 'assistant', 'tool'].includes(m.role) && typeof m.content === 'string');
    if (!valid) {
      res.statusCode = 400;
      return void res.end(JSON.stringify({ error: 'invalid request' }));
    }
    requests.push(body);
    const out = reply(body);
    if ('error' in out) {
      res.statusCode = out.status;
      res.setHeader('Content-Type', 'application/json');
      return void res.end(JSON.stringify({ error: out.error }));
    }
    const created_at = new Date().toISOString();
    const final = {
      model: body.model,
      created_at,
      message: { role: 'assistant', content: '' },
      done: true,
      done_reason: 'stop',
      total_duration: 1_000_000,
      prompt_eval_count: Math.ceil(raw.length / 4),
      eval_count: Math.ceil(out.content.length / 4),
    };
    if (body.stream === false) {
      res.setHeader('Content-Type', 'application/json');
      return void res.end(JSON.stringify({ ...final, message: { role: 'assistant', content: out.content } }));
    }
    res.setHeader('Content-Type', 'application/x-ndjson');
    for (const piece of out.content.match(/\S+\s*/g) ?? []) {
      res.write(`${JSON.stringify({ model: body.model, created_at, message: { role: 'assistant', content: piece }, done: false })}\n`);
    }
    res.end(`${JSON.stringify(final)}\n`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    embedRequests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/**
 * A stand-in for an embedding model: words hashed into 64 dimensions, so
 * texts that share words are near. Enough to test the wiring of dense
 * retrieval, not its quality.
 */
export function hashedEmbedding(text: string): number[] {
  const v = new Array<number>(64).fill(0);
  for (const w of text
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((x) => x.length > 2)) {
    let h = 2166136261;
    for (let i = 0; i < w.length; i++) h = Math.imul(h ^ w.charCodeAt(i), 16777619);
    v[(h >>> 0) % 64]! += 1;
  }
  return v;
}

/** A draft that cites the evidence in the prompt the way a careful model would. */
export function citingDraft(user: string): string {
  const deploy = /\[(rc\d+)\] payment version ([\d.]+) → ([\d.]+) first seen at (\d\d:\d\d)/.exec(user);
  const red = /\[(so\d+)\] payment: ([\d.]+%) errors/.exec(user);
  const parts = ['Likely cause: the payment rollout.'];
  if (deploy) parts.push(`Payment ${deploy[3]} replaced ${deploy[2]} at ${deploy[4]} UTC [${deploy[1]}].`);
  if (red) parts.push(`Since then payment fails ${red[2]} of its requests [${red[1]}].`);
  parts.push('Next steps: roll payment back and watch its error ratio.');
  return parts.join(' ');
}
