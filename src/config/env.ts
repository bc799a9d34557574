import path from 'node:path';
import { z } from 'zod';
import { parseDuration } from '../core/duration.ts';

const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((v, ctx) => {
      const ms = parseDuration(v);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: `expected a duration such as 30s, 15m or 1h (got "${v}")` });
        return z.NEVER;
      }
      return ms;
    });

const optionalUrl = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .pipe(z.url({ protocol: /^https?$/, message: 'expected an http(s) URL' }).optional())
  .optional();

const optionalText = z
  .string()
  .transform((v) => (v.trim() === '' ? undefined : v))
  .optional();

const SUPPORTED_ALGORITHMS = ['EdDSA', 'ES256'] as const;

/** Every setting the service reads from its environment, with its default. */
export const EnvSchema = z.object({
  PORT: z.coerce.number({ message: 'expected a port number' }).int().min(0).max(65535).default(8080),
  HOST: z.string().min(1).default('127.0.0.1'),
  AIOPS_DATA_DIR: z.string().min(1).default('./data'),
  AIOPS_URL: optionalUrl,
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  CLICKHOUSE_URL: optionalUrl,
  CLICKHOUSE_USER: z.string().default('default'),
  CLICKHOUSE_PASSWORD: z.string().default(''),
  CLICKHOUSE_DATABASE: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a database name of letters, digits and _')
    .default('default'),

  AUTH_JWKS_URL: optionalUrl,
  AUTH_PUBLIC_KEY: optionalText,
  AUTH_PUBLIC_KEY_ID: optionalText,
  AUTH_ISSUER: z.string().min(1).default('hks-control-plane'),
  AUTH_AUDIENCE: z.string().min(1).default('hks-aiops'),
  AUTH_ALGORITHMS: z
    .string()
    .default('EdDSA,ES256')
    .transform((v) =>
      v
        .split(',')
        .map((a) => a.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.enum(SUPPORTED_ALGORITHMS, { message: 'only EdDSA and ES256 are accepted' })).min(1)),
  AUTH_MAX_TOKEN_AGE: duration('1h'),
  AUTH_CLOCK_TOLERANCE: duration('30s'),
  AUTH_JWKS_CACHE_MAX_AGE: duration('10m'),
  AUTH_JWKS_TIMEOUT: duration('5s'),
  AUTH_ROLES_CLAIM: z.string().min(1).default('roles'),
  AUTH_WORKSPACES_CLAIM: z.string().min(1).default('workspaces'),

  TENANT_ATTRIBUTE: z.string().min(1).default('k8s.namespace.name'),

  OLLAMA_URL: optionalUrl,
  /** The service's own spans go to this OTLP/HTTP endpoint (protobuf, `<endpoint>/v1/traces`); unset, tracing is a no-op. */
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalUrl,
  QDRANT_URL: optionalUrl,
  QDRANT_API_KEY: optionalText,
  POSTGRES_URL: z
    .string()
    .trim()
    .transform((v) => (v === '' ? undefined : v))
    .pipe(
      z
        .string()
        .regex(/^postgres(ql)?:\/\//, 'expected a postgres:// URL')
        .optional(),
    )
    .optional(),
  CONTROL_PLANE_URL: optionalUrl,

  AIOPS_POLICIES_DIR: z.string().min(1).default('./policies'),
  AIOPS_PROMPTS_DIR: z.string().min(1).default('./prompts'),
  AIOPS_RUNBOOKS_DIR: z.string().min(1).default('./runbooks'),
  /** Eval cases (evals/<suite>/<case>/case.yaml) that POST /v1/evals/runs runs. */
  AIOPS_EVALS_DIR: z.string().min(1).default('./evals'),
  /** The web console's files (served at /ui). */
  AIOPS_UI_DIR: z.string().min(1).default('./ui'),
  /** CSP frame-ancestors of /ui: who may embed the console ('none', 'self' or origins, separated by spaces). */
  AIOPS_UI_FRAME_ANCESTORS: z
    .string()
    .trim()
    .default("'none'")
    .refine(
      (v) => v.split(/\s+/).every((s) => s === "'none'" || s === "'self'" || /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/.test(s)),
      "expected 'none', 'self' or origins such as https://platform.example.com, separated by spaces",
    ),
  /** Origins whose pages may hand the console a token by postMessage (comma-separated; default: the origins of AIOPS_UI_FRAME_ANCESTORS). */
  AIOPS_UI_EMBED_ORIGINS: z
    .string()
    .default('')
    .transform((v, ctx) => {
      const origins = v
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean);
      const bad = origins.filter((o) => !/^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/.test(o));
      if (bad.length) {
        ctx.addIssue({ code: 'custom', message: `expected origins such as https://platform.example.com (got ${bad.join(', ')})` });
        return z.NEVER;
      }
      return origins;
    }),

  AIOPS_DEMO: z.enum(['live', 'seed', 'off']).optional(),
  AIOPS_DEMO_SCENARIO: z.string().default('payment-bad-deploy'),
  AIOPS_DEMO_SEED: z.coerce.number().int().min(0).default(7),
  AIOPS_DEMO_HOURS: z.coerce.number().min(0.25).max(48).default(6),

  /** workspace=secret pairs, comma-separated: Alertmanager's http_config sends the secret as a bearer token. */
  AIOPS_ALERT_WEBHOOK_SECRETS: z
    .string()
    .default('')
    .transform((v, ctx) => {
      const out: { workspace: string; secret: string }[] = [];
      for (const pair of v
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean)) {
        const m = /^([A-Za-z0-9][A-Za-z0-9._-]{0,127})=(\S{16,})$/.exec(pair);
        if (!m) {
          ctx.addIssue({
            code: 'custom',
            message: 'expected workspace=secret pairs separated by commas, each secret at least 16 characters',
          });
          return z.NEVER;
        }
        out.push({ workspace: m[1]!, secret: m[2]! });
      }
      return out;
    }),
  SLACK_BOT_TOKEN: optionalText,
  SLACK_SIGNING_SECRET: optionalText,
  SLACK_API_URL: z.url({ protocol: /^https?$/, message: 'expected an http(s) URL' }).default('https://slack.com/api'),

  AIOPS_MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(1_048_576),
  AIOPS_INGEST_MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(16_777_216),
});

type Env = z.infer<typeof EnvSchema>;

export interface Config extends Env {
  dataDir: string;
  /** Where the CLI finds the running service. */
  serviceUrl: string;
  /** Dev mode: no key configured, the service signs its own tokens. */
  devAuth: boolean;
  demo: 'live' | 'seed' | 'off';
}

export class ConfigError extends Error {
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** The one config loader: zod over the environment. Throws ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const known = Object.fromEntries(Object.keys(EnvSchema.shape).flatMap((k) => (env[k] === undefined ? [] : [[k, env[k]]])));
  const parsed = EnvSchema.safeParse(known);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => ({ variable: String(i.path[0] ?? '?'), message: i.message })));
  }
  const e = parsed.data;
  if (e.AUTH_JWKS_URL && e.AUTH_PUBLIC_KEY) {
    throw new ConfigError([{ variable: 'AUTH_PUBLIC_KEY', message: 'set either AUTH_JWKS_URL or AUTH_PUBLIC_KEY, not both' }]);
  }
  const dataDir = path.resolve(e.AIOPS_DATA_DIR);
  const listenHost = e.HOST === '0.0.0.0' || e.HOST === '::' ? '127.0.0.1' : e.HOST;
  return {
    ...e,
    dataDir,
    serviceUrl: e.AIOPS_URL ?? `http://${listenHost.includes(':') ? `[${listenHost}]` : listenHost}:${e.PORT}`,
    devAuth: !e.AUTH_JWKS_URL && !e.AUTH_PUBLIC_KEY,
    demo: e.AIOPS_DEMO ?? (e.CLICKHOUSE_URL ? 'off' : 'live'),
  };
}
