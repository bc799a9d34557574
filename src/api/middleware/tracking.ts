import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env.ts';

const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;
const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** The tracking id: the caller's X-Request-Id, else the W3C trace id, else a new one; echoed back. */
function trackingIdFrom(headers: Headers): string {
  const given = headers.get('x-request-id');
  if (given && REQUEST_ID.test(given)) return given;
  const tp = headers.get('traceparent')?.trim().toLowerCase();
  const m = tp ? TRACEPARENT.exec(tp) : null;
  if (m && !/^0+$/.test(m[1]!)) return m[1]!;
  return randomUUID();
}

export const tracking: MiddlewareHandler<AppEnv> = async (c, next) => {
  const id = trackingIdFrom(c.req.raw.headers);
  c.set('trackingId', id);
  await next();
  c.header('X-Request-Id', id);
};
