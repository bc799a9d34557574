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

export const ProblemDetails = z
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
