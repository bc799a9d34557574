import { createHmac, timingSafeEqual } from 'node:crypto';

/** Slack's limit: a request older (or newer) than this is refused, so a captured one cannot be replayed later. */
const MAX_SKEW_S = 300;

/**
 * Slack's request signing (v0): HMAC-SHA256 with the signing secret over
 * `v0:{timestamp}:{raw body}`, hex, compared in constant time; the timestamp
 * within five minutes of now.
 */
export function verifySlackRequest(
  secret: string,
  timestamp: string | undefined,
  signature: string | undefined,
  rawBody: string,
  nowMs = Date.now(),
): { ok: true } | { ok: false; reason: string } {
  if (!timestamp || !/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'X-Slack-Request-Timestamp is missing or not a number' };
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > MAX_SKEW_S)
    return { ok: false, reason: 'the request timestamp is more than five minutes away from now' };
  if (!signature || !/^v0=[0-9a-f]{64}$/.test(signature)) return { ok: false, reason: 'X-Slack-Signature is missing or malformed' };
  const expected = Buffer.from(`v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${rawBody}`).digest('hex')}`);
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'the signature does not match' };
  return { ok: true };
}

/** What Slack would send: for tests and for anyone checking their setup. */
export function signSlackRequest(secret: string, timestamp: string, rawBody: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${rawBody}`).digest('hex')}`;
}
