import { loadOrCreateDevKeys, signDevToken } from '../auth/dev-keys.ts';
import type { Config } from '../config/env.ts';

export { CliError, ServiceClient } from '../clients/service.ts';
import { CliError } from '../clients/service.ts';

/** AIOPS_TOKEN when given; otherwise, in dev mode, a short-lived token signed with the data folder's dev key. */
export function cliToken(config: Config, claims: { sub?: string; workspaces: string[]; roles: string[] }): () => Promise<string> {
  let cached: string | undefined;
  let signedAt = 0;
  return async () => {
    if (process.env.AIOPS_TOKEN) return process.env.AIOPS_TOKEN;
    // Signed for ten minutes; a command that runs longer (an eval run) gets a fresh one after five.
    if (Date.now() - signedAt > 300_000) cached = undefined;
    if (!config.devAuth) {
      throw new CliError('set AIOPS_TOKEN to a token from the control plane (the service is not in dev mode, so the CLI cannot sign one)');
    }
    if (cached === undefined) signedAt = Date.now();
    cached ??= await signDevToken(await loadOrCreateDevKeys(config.dataDir), {
      sub: claims.sub ?? process.env.USER ?? 'cli',
      workspaces: claims.workspaces,
      roles: claims.roles,
      ttlSeconds: 600,
      issuer: config.AUTH_ISSUER,
      audience: config.AUTH_AUDIENCE,
      rolesClaim: config.AUTH_ROLES_CLAIM,
      workspacesClaim: config.AUTH_WORKSPACES_CLAIM,
    });
    return cached;
  };
}
