import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { importJWK, jwtVerify, type JWK } from 'jose';

export interface ControlPlaneRequest {
  action: string;
  /** The subject of the verified bearer token, or undefined when it did not verify. */
  sub?: string;
  token: string;
  idempotencyKey: string;
  body: Record<string, unknown>;
  status: number;
}

type Reply = { status: number; body?: unknown };

/**
 * The control plane's internal operations API as the service meets it: it
 * verifies the forwarded JWT (signature, issuer, audience), runs an
 * idempotency key at most once (a retry gets the first outcome), and records
 * every request. `script` decides replies in order (then 202 with an id).
 */
export async function controlPlaneServer(opts: { publicJwk: JWK; issuer: string; audience: string }) {
  const key = await importJWK(opts.publicJwk, 'EdDSA');
  const requests: ControlPlaneRequest[] = [];
  const executed: { action: string; key: string; sub: string; body: Record<string, unknown> }[] = [];
  const outcomes = new Map<string, Reply>();
  const script: Reply[] = [];
  let delayMs = 0;
  let n = 0;
  const server = http.createServer(async (req, res) => {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const m = /^\/internal\/v1\/operations\/([a-z_]+)$/.exec(req.url ?? '');
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
    const idempotencyKey = String(req.headers['idempotency-key'] ?? '');
    const send = (r: Reply) => {
      res.statusCode = r.status;
      res.setHeader('Content-Type', r.status >= 400 ? 'application/problem+json' : 'application/json');
      res.end(JSON.stringify(r.body ?? {}));
    };
    let sub: string | undefined;
    try {
      sub = (await jwtVerify(token, key, { issuer: opts.issuer, audience: opts.audience, algorithms: ['EdDSA'] })).payload.sub;
    } catch {
      sub = undefined;
    }
    const body = (raw ? JSON.parse(raw) : {}) as Record<string, unknown>;
    const record = (status: number) => requests.push({ action: m?.[1] ?? '', sub, token, idempotencyKey, body, status });
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    if (!m || req.method !== 'POST') {
      record(404);
      return send({ status: 404, body: { title: 'Not found' } });
    }
    if (!sub) {
      record(401);
      return send({ status: 401, body: { title: 'Unauthorized', detail: 'the token did not verify' } });
    }
    if (!idempotencyKey) {
      record(400);
      return send({ status: 400, body: { title: 'Bad request', detail: 'an Idempotency-Key header is required' } });
    }
    const seen = outcomes.get(idempotencyKey);
    if (seen) {
      record(seen.status);
      return send(seen);
    }
    const reply = script.shift() ?? { status: 202, body: { operation_id: `op-${++n}`, status: 'accepted' } };
    record(reply.status);
    // 5xx means "not done": the key stays free for a retry. Anything else is the outcome of this key.
    if (reply.status < 500) {
      outcomes.set(idempotencyKey, reply);
      if (reply.status < 300) executed.push({ action: m[1]!, key: idempotencyKey, sub, body });
    }
    send(reply);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    executed,
    /** Replies for the next requests, in order. */
    script,
    setDelay(ms: number) {
      delayMs = ms;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
