import fs from 'node:fs';
import path from 'node:path';
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import type { Config } from '../config/env.ts';
import { problems } from '../core/problem.ts';
import type { DevKeys } from './dev-keys.ts';
import { claimList, type Principal } from '../core/scope.ts';

export interface TokenVerifier {
  readonly mode: 'jwks' | 'public-key' | 'dev';
  /** Resolves the principal or throws a Problem (401, or 503 when the key source is down). */
  verify(token: string): Promise<Principal>;
}

type AuthConfig = Pick<
  Config,
  | 'AUTH_JWKS_URL'
  | 'AUTH_PUBLIC_KEY'
  | 'AUTH_PUBLIC_KEY_ID'
  | 'AUTH_ISSUER'
  | 'AUTH_AUDIENCE'
  | 'AUTH_ALGORITHMS'
  | 'AUTH_MAX_TOKEN_AGE'
  | 'AUTH_CLOCK_TOLERANCE'
  | 'AUTH_JWKS_CACHE_MAX_AGE'
  | 'AUTH_JWKS_TIMEOUT'
  | 'AUTH_ROLES_CLAIM'
  | 'AUTH_WORKSPACES_CLAIM'
  | 'dataDir'
>;

/** Raised by the key source when it cannot be reached (maps to 503, not 401). */
class KeySourceDown extends Error {}

const MAX_TOKEN_CHARS = 8192;

const CACHE_MAX = 10_000;

export function createTokenVerifier(cfg: AuthConfig, devKeys?: DevKeys): TokenVerifier {
  const { mode, getKey } = keySource(cfg, devKeys);
  const options = {
    algorithms: cfg.AUTH_ALGORITHMS,
    issuer: cfg.AUTH_ISSUER,
    audience: cfg.AUTH_AUDIENCE,
    requiredClaims: ['exp', 'iat', 'sub'],
    maxTokenAge: Math.floor(cfg.AUTH_MAX_TOKEN_AGE / 1000),
    clockTolerance: Math.floor(cfg.AUTH_CLOCK_TOLERANCE / 1000),
  };
  // A client sends the same token on many requests: a verified token is
  // remembered (by hash) until it would stop verifying, i.e. until exp or
  // iat + max age, whichever comes first. Failures are never cached.
  const verified = new Map<string, { principal: Principal; until: number }>();
  return {
    mode,
    async verify(token) {
      if (token.length > MAX_TOKEN_CHARS || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/.test(token)) {
        throw problems.unauthorized('the bearer token is not a well-formed JWT');
      }
      const key = createHash('sha256').update(token).digest('base64url');
      const hit = verified.get(key);
      if (hit && Date.now() < hit.until) return hit.principal;
      refuseCritical(token);
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, getKey, options));
      } catch (err) {
        throw toProblem(err, cfg, mode);
      }
      if (typeof payload.sub !== 'string' || payload.sub === '') {
        throw problems.unauthorized('the token has no subject');
      }
      const principal: Principal = {
        sub: payload.sub,
        roles: claimList(payload[cfg.AUTH_ROLES_CLAIM]),
        workspaces: claimList(payload[cfg.AUTH_WORKSPACES_CLAIM] ?? payload.workspace),
      };
      const until = Math.min(payload.exp! * 1000, payload.iat! * 1000 + cfg.AUTH_MAX_TOKEN_AGE);
      if (verified.size >= CACHE_MAX) verified.clear();
      verified.set(key, { principal, until });
      return principal;
    },
  };
}

function keySource(cfg: AuthConfig, devKeys?: DevKeys): { mode: TokenVerifier['mode']; getKey: JWTVerifyGetKey } {
  if (cfg.AUTH_JWKS_URL) {
    const remote = createRemoteJWKSet(new URL(cfg.AUTH_JWKS_URL), {
      cacheMaxAge: cfg.AUTH_JWKS_CACHE_MAX_AGE,
      timeoutDuration: cfg.AUTH_JWKS_TIMEOUT,
      cooldownDuration: 30_000,
    });
    return {
      mode: 'jwks',
      getKey: async (header, token) => {
        try {
          return await remote(header, token);
        } catch (err) {
          if (isKeyMismatch(err)) throw err;
          // Keys fetched earlier stay usable while the endpoint is down.
          const stale = remote.jwks();
          if (stale) return createLocalJWKSet(stale)(header, token);
          throw new KeySourceDown(`the JWKS endpoint could not be read: ${(err as Error).message}`);
        }
      },
    };
  }
  if (cfg.AUTH_PUBLIC_KEY) {
    const key = readConfiguredKey(cfg.AUTH_PUBLIC_KEY);
    if ('keys' in key) return { mode: 'public-key', getKey: createLocalJWKSet(key) };
    if (cfg.AUTH_PUBLIC_KEY_ID) {
      return { mode: 'public-key', getKey: createLocalJWKSet({ keys: [{ ...jwkOf(key), kid: cfg.AUTH_PUBLIC_KEY_ID }] }) };
    }
    return { mode: 'public-key', getKey: async () => key };
  }
  if (!devKeys) throw new Error('no key configured and no dev keys given');
  return { mode: 'dev', getKey: createLocalJWKSet({ keys: [devKeys.publicJwk] }) };
}

const jwkCache = new WeakMap<KeyObject, JWK>();
function jwkOf(key: KeyObject): JWK {
  let jwk = jwkCache.get(key);
  if (!jwk) {
    jwk = key.export({ format: 'jwk' }) as JWK;
    jwkCache.set(key, jwk);
  }
  return jwk;
}

/** AUTH_PUBLIC_KEY: PEM text, a JWK or JWKS as JSON, or a path to a file holding either. */
function readConfiguredKey(value: string): KeyObject | JSONWebKeySet {
  let text = value.trim();
  if (!text.startsWith('-----BEGIN') && !text.startsWith('{')) {
    text = fs.readFileSync(text, 'utf8').trim();
  }
  if (text.startsWith('{')) {
    const json = JSON.parse(text) as JWK | JSONWebKeySet;
    if ('keys' in json && Array.isArray(json.keys)) return json;
    return createPublicKey({ key: json as import('node:crypto').JsonWebKey, format: 'jwk' });
  }
  return createPublicKey(text);
}

function isKeyMismatch(err: unknown): boolean {
  return (
    err instanceof errors.JWKSNoMatchingKey ||
    err instanceof errors.JWKSMultipleMatchingKeys ||
    err instanceof errors.JOSEAlgNotAllowed ||
    err instanceof errors.JOSENotSupported ||
    err instanceof errors.JWKInvalid
  );
}

/**
 * The service understands no extension header parameter, so a token marking any as critical is
 * refused (RFC 7515 §4.1.11), with that reason rather than jose's "not supported" (read as an
 * algorithm problem). Refused up front: jose itself would accept `crit: ["b64"]`.
 */
function refuseCritical(token: string): void {
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    return; // not decodable: jwtVerify says what is wrong with it
  }
  if (header.crit === undefined) return;
  const named = Array.isArray(header.crit) ? header.crit.map((c) => JSON.stringify(c)).join(', ') : JSON.stringify(header.crit);
  throw problems.unauthorized(`the token carries critical header parameters (crit: ${named}) that the service does not support`);
}

function toProblem(err: unknown, cfg: AuthConfig, mode: TokenVerifier['mode']) {
  if (err instanceof KeySourceDown) return problems.unavailable('jwks', err.message);
  if (err instanceof errors.JWTExpired) {
    return problems.unauthorized(err.claim === 'iat' ? 'the token is older than the accepted maximum age' : 'the token has expired');
  }
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.reason === 'missing') return problems.unauthorized(`the token lacks the required claim "${err.claim}"`);
    switch (err.claim) {
      case 'iss':
        return problems.unauthorized(`the token was not issued by ${cfg.AUTH_ISSUER}`);
      case 'aud':
        return problems.unauthorized(`the token is not meant for audience ${cfg.AUTH_AUDIENCE}`);
      case 'iat':
        return problems.unauthorized('the token has an invalid issued-at time');
      case 'nbf':
        return problems.unauthorized('the token is not valid yet');
      default:
        return problems.unauthorized(`the token's "${err.claim}" claim is invalid`);
    }
  }
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) {
    return problems.unauthorized(`the token's signing algorithm is not accepted (allowed: ${cfg.AUTH_ALGORITHMS.join(', ')})`);
  }
  if (err instanceof errors.JWKSNoMatchingKey) {
    if (mode === 'dev') {
      // The usual cause: a token from `aiops token` run with another AIOPS_DATA_DIR than the service's.
      return problems.unauthorized(
        `no known key matches the token (unknown kid). In dev mode tokens are signed by the key in $AIOPS_DATA_DIR/dev-auth/ (this service: ${path.join(cfg.dataDir, 'dev-auth')}/); this token was made with another data folder's key: run aiops token with the service's AIOPS_DATA_DIR`,
      );
    }
    return problems.unauthorized('no known key matches the token (unknown kid)');
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return problems.unauthorized('the token signature is invalid');
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) {
    return problems.unauthorized('the bearer token is not a well-formed JWT');
  }
  return problems.unauthorized('the token could not be verified');
}
