import fs from 'node:fs';
import path from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';

export interface DevKeys {
  kid: string;
  publicJwk: JWK;
  privateJwk: JWK;
}

function devKeyPath(dataDir: string): string {
  return path.join(dataDir, 'dev-auth', 'signing-key.json');
}

/**
 * Dev mode only: an Ed25519 key pair kept in the data folder, so the service
 * and `aiops token` (run with the same AIOPS_DATA_DIR) agree on it.
 */
export async function loadOrCreateDevKeys(dataDir: string): Promise<DevKeys> {
  const file = devKeyPath(dataDir);
  if (fs.existsSync(file)) return readKeys(file);
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const keys: DevKeys = {
    kid,
    publicJwk: { ...publicJwk, kid, alg: 'EdDSA', use: 'sig' },
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: 'EdDSA' },
  };
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(keys), { mode: 0o600 });
  try {
    // link fails if another process created the key first; theirs wins.
    fs.linkSync(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  return readKeys(file);
}

function readKeys(file: string): DevKeys {
  const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as DevKeys;
  if (!parsed.kid || !parsed.publicJwk || !parsed.privateJwk) {
    throw new Error(`${file} is not a dev signing key; remove it to create a new one`);
  }
  return parsed;
}

interface DevTokenRequest {
  sub: string;
  workspaces: string[];
  roles: string[];
  ttlSeconds: number;
  issuer: string;
  audience: string;
  rolesClaim?: string;
  workspacesClaim?: string;
}

export async function signDevToken(keys: DevKeys, req: DevTokenRequest): Promise<string> {
  const key = await importJWK(keys.privateJwk, 'EdDSA');
  return new SignJWT({
    [req.rolesClaim ?? 'roles']: req.roles,
    [req.workspacesClaim ?? 'workspaces']: req.workspaces,
  })
    .setProtectedHeader({ alg: 'EdDSA', kid: keys.kid, typ: 'JWT' })
    .setSubject(req.sub)
    .setIssuer(req.issuer)
    .setAudience(req.audience)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + req.ttlSeconds)
    .sign(key);
}
