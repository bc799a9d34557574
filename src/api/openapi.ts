import { OpenAPIHono, z } from '@hono/zod-openapi';
import { problems, zodFieldErrors } from '../core/problem.ts';
import type { AppEnv } from './env.ts';

/** What a validation failure says, by where the failing value came from. */
const INVALID: Record<string, string> = {
  json: 'the request body is not valid',
  query: 'the query parameters are not valid',
  param: 'the path parameters are not valid',
};

/**
 * A sub-app of the API. Its zod validators fail with the service's own 400
 * problem (thrown, so the app's error handler renders it with the tracking
 * id), naming each failing field the way users write it.
 */
export function router(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw problems.validation(INVALID[result.target] ?? 'the request is not valid', zodFieldErrors(result.error));
    },
  });
}

const ProblemDetails = z
  .looseObject({
    type: z.string().openapi({ example: 'urn:hks-aiops:problem:validation' }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    errors: z
      .array(z.object({ field: z.string().openapi({ example: 'documents[0].path' }), message: z.string() }))
      .optional()
      .openapi({ description: 'For 400: every failing field, as `a.b[0].c`; `(body)` for the body as a whole' }),
    tracking_id: z.string().optional().openapi({ description: 'Also in X-Request-Id; identifies the request in logs' }),
  })
  .openapi('Problem', { description: 'An RFC 9457 problem (application/problem+json)' });

const PROBLEM_STATUSES = {
  400: 'The request is not valid; `errors` names each failing field',
  401: 'No bearer token, or one that does not verify',
  403: 'The token lacks the role or the workspace this needs',
  404: 'There is no such resource in the workspace',
  409: 'The resource is not in a state that allows this',
  413: 'The body exceeds the size limit',
  415: 'The body is not application/json',
  429: 'Too many requests in flight; retry after Retry-After seconds',
  503: 'A dependency did not answer; retry after Retry-After seconds',
} as const;
type ProblemStatus = keyof typeof PROBLEM_STATUSES;
type ProblemResponse = { description: string; content: { 'application/problem+json': { schema: typeof ProblemDetails } } };

/** The problem+json answers of a route, one per status it can give. */
export function problemResponses<const S extends readonly ProblemStatus[]>(...statuses: S): { [K in S[number]]: ProblemResponse } {
  const out: Partial<Record<ProblemStatus, ProblemResponse>> = {};
  for (const s of statuses)
    out[s] = { description: PROBLEM_STATUSES[s], content: { 'application/problem+json': { schema: ProblemDetails } } };
  return out as { [K in S[number]]: ProblemResponse };
}

/** JSON content of a response or body. */
export const json = <T extends z.ZodType>(schema: T) => ({ 'application/json': { schema } });

/** A JSON body the route validates with zod (after readJson's size and media type checks). */
export const jsonRequest = <T extends z.ZodType>(schema: T, description?: string) => ({
  required: true,
  ...(description ? { description } : {}),
  content: json(schema),
});

/** Routes under /v1 take a bearer JWT; X-Workspace picks one of the token's workspaces. */
export const bearerAuth = [{ bearerAuth: [] }];
export const workspaceHeader = [{ $ref: '#/components/parameters/Workspace' }];

/** Registers the document's shared parts on the top app and serves it at `path`, public. */
export function serveOpenApi(app: OpenAPIHono<AppEnv>, path: string): void {
  const registry = app.openAPIRegistry;
  registry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'A JWT from the configured issuer (AUTH_ISSUER, AUTH_AUDIENCE); its roles and workspaces scope each route',
  });
  registry.registerComponent('securitySchemes', 'alertWebhookSecret', {
    type: 'http',
    scheme: 'bearer',
    description:
      "A workspace's alert webhook secret (AIOPS_ALERT_WEBHOOK_SECRETS) as the bearer token, as Alertmanager's " +
      'http_config.authorization sends it; accepted on /v1/alerts only, as role `alerts` in that workspace',
  });
  registry.registerComponent('securitySchemes', 'slackSignature', {
    type: 'apiKey',
    in: 'header',
    name: 'X-Slack-Signature',
    description: "Slack's request signature (HMAC-SHA256 with the app's signing secret over X-Slack-Request-Timestamp and the body)",
  });
  registry.registerComponent('parameters', 'Workspace', {
    name: 'X-Workspace',
    in: 'header',
    required: false,
    description: 'The workspace to act on, when the token grants several (or `?workspace=`)',
    schema: { type: 'string' },
  });
  registry.registerPath({
    method: 'get',
    path,
    tags: ['meta'],
    operationId: 'getOpenApi',
    summary: 'This description of the API (OpenAPI 3.1); needs no token',
    responses: { 200: { description: 'The OpenAPI document', content: { 'application/json': { schema: { type: 'object' } } } } },
  });
  app.doc31(path, {
    openapi: '3.1.0',
    info: {
      title: 'hks-aiops',
      // The version of the /v1 contract, not of the service build.
      version: '1',
      description:
        'Chat-first AIOps agent service. Errors are application/problem+json (RFC 9457) with a tracking_id; every answer carries X-Request-Id.',
    },
    tags: TAGS,
  });
}

const TAGS = [
  { name: 'meta', description: 'Health, readiness, metrics and this document; no token' },
  { name: 'whoami', description: 'The caller as the token says' },
  { name: 'otlp', description: 'OTLP/HTTP ingest with JSON encoding' },
  { name: 'demo', description: 'The demo simulator' },
  { name: 'tools', description: 'Telemetry tools, run on the caller’s workspace' },
  { name: 'chat', description: 'Chat turns; JSON or Server-Sent Events' },
  { name: 'threads', description: 'Chat and alert threads' },
  { name: 'approvals', description: 'Proposed actions and decisions on them' },
  { name: 'audit', description: 'The audit trail of actions' },
  { name: 'runbooks', description: 'Runbook and document search' },
  { name: 'knowledge', description: 'The knowledge base and its documents' },
  { name: 'alerts', description: 'Alert intake (Alertmanager and plain alerts)' },
  { name: 'slack', description: "Slack's Events API" },
  { name: 'ui', description: 'The web console (static files under a strict Content-Security-Policy); no token to load it' },
  { name: 'dev', description: 'Dev mode only, from this machine only: tokens for the console' },
];
