import { loadOrCreateDevKeys, signDevToken } from '../auth/dev-keys.ts';
import type { Config } from '../config/env.ts';

/** A CLI failure shown to the user as one line, without a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** The CLI acts through the running service's HTTP API, as it would against a remote deployment. */
export class ServiceClient {
  constructor(
    private readonly baseUrl: string,
    private readonly token: () => Promise<string>,
  ) {}

  async reachable(): Promise<boolean> {
    try {
      const res = await fetch(new URL('/healthz', this.baseUrl), { signal: AbortSignal.timeout(1500) });
      await res.body?.cancel();
      return res.ok;
    } catch {
      return false;
    }
  }

  async request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
    const res = await fetch(new URL(path, this.baseUrl), {
      method,
      headers: {
        Authorization: `Bearer ${await this.token()}`,
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).catch((err: unknown) => {
      throw new CliError(
        `the service at ${this.baseUrl} is not reachable (${(err as Error).message}); start it with "npm start" or set AIOPS_URL`,
      );
    });
    return res;
  }

  async json<T>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<T> {
    const res = await this.request(method, path, body, headers);
    const text = await res.text();
    if (!res.ok) {
      let detail = text;
      try {
        const p = JSON.parse(text) as { detail?: string; errors?: { field: string; message: string }[] };
        detail = [p.detail, ...(p.errors ?? []).map((e) => `  ${e.field}: ${e.message}`)].filter(Boolean).join('\n');
      } catch {
        /* not JSON: show as is */
      }
      throw new CliError(`${method} ${path} failed with ${res.status}: ${detail}`);
    }
    return JSON.parse(text) as T;
  }
}

/** AIOPS_TOKEN when given; otherwise, in dev mode, a short-lived token signed with the data folder's dev key. */
export function cliToken(config: Config, claims: { sub?: string; workspaces: string[]; roles: string[] }): () => Promise<string> {
  let cached: string | undefined;
  return async () => {
    if (process.env.AIOPS_TOKEN) return process.env.AIOPS_TOKEN;
    if (!config.devAuth) {
      throw new CliError('set AIOPS_TOKEN to a token from the control plane (the service is not in dev mode, so the CLI cannot sign one)');
    }
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
