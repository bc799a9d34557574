import { parseArgs } from 'node:util';
import type { Config } from '../../config/env.ts';
import { parseDuration } from '../../core/duration.ts';
import { loadOrCreateDevKeys, signDevToken } from '../../auth/dev-keys.ts';
import { CliError } from '../client.ts';
import { ROLE_NAMES, unknownRoles } from '../../core/roles.ts';

const list = (values: string[] | undefined) =>
  (values ?? [])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);

/** Prints a dev-mode token, and nothing else, on stdout. */
export async function tokenCommand(config: Config, argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      sub: { type: 'string' },
      workspace: { type: 'string', multiple: true },
      roles: { type: 'string', multiple: true },
      ttl: { type: 'string', default: '1h' },
    },
    strict: true,
  });
  if (!config.devAuth) {
    throw new CliError(
      'aiops token works in dev mode only; with AUTH_JWKS_URL or AUTH_PUBLIC_KEY set, tokens come from the control plane',
      2,
    );
  }
  if (!values.sub) throw new CliError('--sub is required (the user the token speaks for)', 2);
  const ttl = parseDuration(values.ttl);
  if (!ttl) throw new CliError(`--ttl: expected a duration such as 15m or 1h (got "${values.ttl}")`, 2);
  if (ttl > config.AUTH_MAX_TOKEN_AGE) {
    throw new CliError(`--ttl: at most ${config.AUTH_MAX_TOKEN_AGE / 1000}s (AUTH_MAX_TOKEN_AGE); the service refuses older tokens`, 2);
  }
  const roles = list(values.roles);
  const unknown = unknownRoles(roles);
  if (unknown.length) {
    throw new CliError(
      `--roles: unknown role${unknown.length > 1 ? 's' : ''} ${unknown.map((r) => `"${r}"`).join(', ')}; the roles are ${ROLE_NAMES.join(', ')}`,
      2,
    );
  }
  const keys = await loadOrCreateDevKeys(config.dataDir);
  const token = await signDevToken(keys, {
    sub: values.sub,
    workspaces: list(values.workspace),
    roles,
    ttlSeconds: Math.floor(ttl / 1000),
    issuer: config.AUTH_ISSUER,
    audience: config.AUTH_AUDIENCE,
    rolesClaim: config.AUTH_ROLES_CLAIM,
    workspacesClaim: config.AUTH_WORKSPACES_CLAIM,
  });
  process.stdout.write(`${token}\n`);
}
