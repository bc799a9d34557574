import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { loadOrCreateDevKeys, signDevToken } from '../src/auth/dev-keys.ts';
import { json, startTestService, tempDir, type TestService } from './helpers/service.ts';

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

interface Claims {
  sub?: string;
  iss?: string;
  aud?: string;
  iat?: number;
  exp?: number;
  roles?: string[];
  workspaces?: string[];
}

/** A token as the control plane would sign it; `header` adds protected header parameters (named in `crit` too, when critical). */
async function sign(
  key: CryptoKey | Uint8Array,
  alg: string,
  kid: string | undefined,
  claims: Claims,
  header: { extra?: Record<string, unknown>; crit?: string[] } = {},
): Promise<string> {
  const { iss = 'hks-control-plane', aud = 'hks-aiops', iat = now(), exp = now() + 300, sub = 'alice', ...rest } = claims;
  const jwt = new SignJWT({ roles: ['sre'], workspaces: ['shop'], ...rest }).setProtectedHeader({
    alg,
    ...(kid ? { kid } : {}),
    ...header.extra,
    ...(header.crit ? { crit: header.crit } : {}),
  });
  if (sub) jwt.setSubject(sub);
  if (iss) jwt.setIssuer(iss);
  if (aud) jwt.setAudience(aud);
  if (iat) jwt.setIssuedAt(iat);
  if (exp) jwt.setExpirationTime(exp);
  // jose refuses to sign with a critical parameter it does not know unless told it is understood.
  return jwt.sign(key, header.crit ? { crit: Object.fromEntries(header.crit.map((c) => [c, true])) } : undefined);
}

describe('authentication in dev mode (key in the data folder)', () => {
  let svc: TestService;
  let devKey: CryptoKey;
  let kid: string;
  const used: string[] = [];

  beforeAll(async () => {
    svc = await startTestService();
    const keys = await loadOrCreateDevKeys(svc.dataDir);
    kid = keys.kid;
    const { importJWK } = await import('jose');
    devKey = (await importJWK(keys.privateJwk, 'EdDSA')) as CryptoKey;
  });
  afterAll(() => svc.close());

  const whoami = async (token: string | undefined, headers: Record<string, string> = {}) => {
    if (token) used.push(token);
    return svc.request('/v1/whoami', { token, headers });
  };

  it('accepts a valid token and exposes its claims', async () => {
    const res = await whoami(await sign(devKey, 'EdDSA', kid, { roles: ['sre', 'approver'] }));
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ sub: 'alice', roles: ['sre', 'approver'], workspaces: ['shop'], workspace: 'shop' });
  });

  const cases: [string, () => Promise<string | undefined>, RegExp][] = [
    ['missing', async () => undefined, /bearer token is required/],
    ['malformed', async () => 'not-a-jwt', /not a well-formed JWT/],
    ['three garbage parts', async () => 'abc.def.ghi', /not a well-formed JWT/],
    ['expired', async () => sign(devKey, 'EdDSA', kid, { iat: now() - 600, exp: now() - 120 }), /expired/],
    [
      'too old (iat beyond max age)',
      async () => sign(devKey, 'EdDSA', kid, { iat: now() - 7200, exp: now() + 300 }),
      /older than the accepted maximum age/,
    ],
    ['wrong issuer', async () => sign(devKey, 'EdDSA', kid, { iss: 'someone-else' }), /not issued by hks-control-plane/],
    ['wrong audience', async () => sign(devKey, 'EdDSA', kid, { aud: 'other-service' }), /not meant for audience hks-aiops/],
    ['unknown kid', async () => sign(devKey, 'EdDSA', 'not-our-key', {}), /unknown kid/],
    [
      "signed by another data folder's dev key",
      async () => {
        const other = await loadOrCreateDevKeys(tempDir());
        return signDevToken(other, {
          sub: 'alice',
          workspaces: ['shop'],
          roles: ['sre'],
          ttlSeconds: 300,
          issuer: 'hks-control-plane',
          audience: 'hks-aiops',
        });
      },
      /unknown kid\)\. In dev mode tokens are signed by the key in \$AIOPS_DATA_DIR\/dev-auth\/ \(this service: .+\/dev-auth\/\); this token was made with another data folder's key/,
    ],
    [
      'marked with a critical header parameter',
      async () => sign(devKey, 'EdDSA', kid, {}, { extra: { 'x-tenant-binding': 'shop' }, crit: ['x-tenant-binding'] }),
      /carries critical header parameters \(crit: "x-tenant-binding"\) that the service does not support/,
    ],
    [
      'marked critical with b64 (which jose alone would accept)',
      async () => sign(devKey, 'EdDSA', kid, {}, { extra: { b64: true }, crit: ['b64'] }),
      /carries critical header parameters \(crit: "b64"\) that the service does not support/,
    ],
    ['no exp', async () => sign(devKey, 'EdDSA', kid, { exp: 0 }), /"exp"/],
    ['no iat', async () => sign(devKey, 'EdDSA', kid, { iat: 0 }), /"iat"/],
    ['no sub', async () => sign(devKey, 'EdDSA', kid, { sub: '' }), /"sub"/],
    [
      'signed by another key with our kid',
      async () => {
        const other = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
        return sign(other.privateKey, 'EdDSA', kid, {});
      },
      /signature is invalid/,
    ],
    [
      'alg none',
      async () =>
        `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'mallory', iss: 'hks-control-plane', aud: 'hks-aiops', iat: now(), exp: now() + 300, roles: ['admin'], workspaces: ['shop'] })}.`,
      /algorithm is not accepted/,
    ],
    [
      'HS256 signed with the public key',
      async () => {
        const keys = await loadOrCreateDevKeys(svc.dataDir);
        return sign(new TextEncoder().encode(JSON.stringify(keys.publicJwk)), 'HS256', kid, {});
      },
      /algorithm is not accepted/,
    ],
  ];

  for (const [name, make, detail] of cases) {
    it(`rejects a token that is ${name} with 401`, async () => {
      const res = await whoami(await make());
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
      const body = await json<{ detail: string; stack?: string }>(res);
      expect(body.detail).toMatch(detail);
      expect(body.stack).toBeUndefined();
    });
  }

  it('rejects another scheme', async () => {
    const res = await svc.request('/v1/whoami', { headers: { Authorization: 'Basic YWxpY2U6c2VjcmV0' } });
    expect(res.status).toBe(401);
    expect((await json(res)).detail).toMatch(/Bearer scheme/);
  });

  it('gives 403 for a workspace the token lacks', async () => {
    const res = await whoami(await sign(devKey, 'EdDSA', kid, {}), { 'X-Workspace': 'analytics' });
    expect(res.status).toBe(403);
    expect((await json(res)).detail).toMatch(/workspace "analytics"/);
  });

  it('gives 403 for a role the token lacks', async () => {
    const token = await sign(devKey, 'EdDSA', kid, { roles: ['viewer'] });
    used.push(token);
    const res = await svc.request('/v1/logs', { method: 'POST', token, headers: { 'Content-Type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(403);
    expect((await json(res)).detail).toMatch(/role "ingest"/);
  });

  it('asks to choose when the token grants several workspaces', async () => {
    const token = await sign(devKey, 'EdDSA', kid, { roles: ['ingest'], workspaces: ['shop', 'analytics'] });
    used.push(token);
    const post = (headers: Record<string, string>) =>
      svc.request('/v1/logs', { method: 'POST', token, headers: { 'Content-Type': 'application/json', ...headers }, body: '{}' });
    const ambiguous = await post({});
    expect(ambiguous.status).toBe(400);
    expect((await json(ambiguous)).detail).toMatch(/X-Workspace/);
    expect((await post({ 'X-Workspace': 'analytics' })).status).toBe(200);
  });

  it('never writes a token to the logs', () => {
    expect(used.length).toBeGreaterThan(10);
    const logs = svc.logs();
    expect(logs).toContain('"route":"/v1/whoami"');
    for (const t of used) if (t) expect(logs).not.toContain(t.split('.')[2] || t);
  });
});

describe('authentication against a JWKS endpoint', () => {
  let jwks: { keys: JWK[] };
  let server: http.Server;
  let up = false;
  let key: CryptoKey;
  let svc: TestService;

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256');
    key = pair.privateKey;
    jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'cp-1', alg: 'ES256', use: 'sig' }] };
    server = http.createServer((_req, res) => {
      if (!up) {
        res.statusCode = 502;
        return res.end('bad gateway');
      }
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify(jwks));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
    svc = await startTestService({ AUTH_JWKS_URL: url, AUTH_JWKS_TIMEOUT: '1s' });
  });
  afterAll(async () => {
    await svc.close();
    server.close();
  });

  it('gives 503 naming the JWKS while the endpoint is down and no key was ever fetched', async () => {
    const res = await svc.request('/v1/whoami', { token: await sign(key, 'ES256', 'cp-1', {}) });
    expect(res.status).toBe(503);
    const body = await json(res);
    expect(body.dependency).toBe('jwks');
    expect(body.detail).toMatch(/JWKS endpoint could not be read/);
  });

  it('verifies ES256 tokens with keys from the endpoint once it answers', async () => {
    up = true;
    const res = await svc.request('/v1/whoami', { token: await sign(key, 'ES256', 'cp-1', { sub: 'bob' }) });
    expect(res.status).toBe(200);
    expect((await json(res)).sub).toBe('bob');
  });

  it('gives 401 for a kid the endpoint does not publish', async () => {
    const res = await svc.request('/v1/whoami', { token: await sign(key, 'ES256', 'cp-9', {}) });
    expect(res.status).toBe(401);
    const detail = (await json<{ detail: string }>(res)).detail;
    expect(detail).toMatch(/unknown kid/);
    // The dev-key hint is for dev mode only.
    expect(detail).not.toMatch(/dev-auth/);
  });

  it('keeps verifying with fetched keys when the endpoint goes down again', async () => {
    up = false;
    const res = await svc.request('/v1/whoami', { token: await sign(key, 'ES256', 'cp-1', {}) });
    expect(res.status).toBe(200);
  });

  it('still refuses EdDSA dev-style tokens signed by an unknown key', async () => {
    const other = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const res = await svc.request('/v1/whoami', { token: await sign(other.privateKey, 'EdDSA', 'cp-1', {}) });
    expect(res.status).toBe(401);
  });
});

describe('authentication with a configured public key', () => {
  it('accepts tokens signed by the matching private key only', async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    const pem = await exportSPKI(pair.publicKey);
    const { createTokenVerifier } = await import('../src/auth/verifier.ts');
    const { loadConfig } = await import('../src/config/env.ts');
    const verifier = createTokenVerifier(loadConfig({ AUTH_PUBLIC_KEY: pem }));
    expect(verifier.mode).toBe('public-key');
    await expect(verifier.verify(await sign(pair.privateKey, 'ES256', undefined, { sub: 'carol' }))).resolves.toMatchObject({
      sub: 'carol',
    });
    const other = await generateKeyPair('ES256');
    await expect(verifier.verify(await sign(other.privateKey, 'ES256', undefined, {}))).rejects.toMatchObject({ status: 401 });
  });
});

describe('the verified-token memory', () => {
  it('does not outlive the token: an expired token fails even after it was accepted', async () => {
    const { vi } = await import('vitest');
    const { createTokenVerifier } = await import('../src/auth/verifier.ts');
    const { loadConfig } = await import('../src/config/env.ts');
    const pair = await generateKeyPair('ES256', { extractable: true });
    const verifier = createTokenVerifier(loadConfig({ AUTH_PUBLIC_KEY: await exportSPKI(pair.publicKey), AUTH_CLOCK_TOLERANCE: '1s' }));
    const token = await sign(pair.privateKey, 'ES256', undefined, { exp: now() + 60 });
    await expect(verifier.verify(token)).resolves.toMatchObject({ sub: 'alice' });
    await expect(verifier.verify(token)).resolves.toMatchObject({ sub: 'alice' });
    vi.useFakeTimers({ now: Date.now() + 120_000, toFake: ['Date'] });
    try {
      await expect(verifier.verify(token)).rejects.toMatchObject({ status: 401, detail: 'the token has expired' });
    } finally {
      vi.useRealTimers();
    }
  });
});
