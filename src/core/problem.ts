import type { z } from 'zod';

export interface FieldError {
  field: string;
  message: string;
}

interface ProblemInit {
  status: number;
  /** Stable slug; becomes the problem `type`. */
  type: string;
  title: string;
  detail: string;
  errors?: FieldError[];
  headers?: Record<string, string>;
  /** Extra members added to the problem body (RFC 9457 extensions). */
  extra?: Record<string, unknown>;
}

/** The one error type of the service; rendered as application/problem+json. */
export class Problem extends Error {
  readonly status: number;
  readonly type: string;
  readonly title: string;
  readonly detail: string;
  readonly errors?: FieldError[];
  readonly headers?: Record<string, string>;
  readonly extra?: Record<string, unknown>;

  constructor(init: ProblemInit) {
    super(init.detail);
    this.name = 'Problem';
    this.status = init.status;
    this.type = init.type;
    this.title = init.title;
    this.detail = init.detail;
    this.errors = init.errors;
    this.headers = init.headers;
    this.extra = init.extra;
  }

  body(trackingId?: string): Record<string, unknown> {
    return {
      type: `urn:hks-aiops:problem:${this.type}`,
      title: this.title,
      status: this.status,
      detail: this.detail,
      ...(this.errors ? { errors: this.errors } : {}),
      ...(this.extra ?? {}),
      ...(trackingId ? { tracking_id: trackingId } : {}),
    };
  }
}

export const problems = {
  validation: (detail: string, errors: FieldError[]) =>
    new Problem({ status: 400, type: 'validation', title: 'Invalid request', detail, errors }),
  badRequest: (detail: string, errors?: FieldError[]) =>
    new Problem({ status: 400, type: 'bad-request', title: 'Bad request', detail, errors }),
  unauthorized: (detail: string) =>
    new Problem({
      status: 401,
      type: 'unauthorized',
      title: 'Not authenticated',
      detail,
      headers: { 'WWW-Authenticate': `Bearer error="invalid_token", error_description="${detail.replace(/"/g, "'")}"` },
    }),
  forbidden: (detail: string) => new Problem({ status: 403, type: 'forbidden', title: 'Forbidden', detail }),
  notFound: (detail: string) => new Problem({ status: 404, type: 'not-found', title: 'Not found', detail }),
  methodNotAllowed: (method: string, allow: string[]) =>
    new Problem({
      status: 405,
      type: 'method-not-allowed',
      title: 'Method not allowed',
      detail: `${method} is not allowed here; use ${allow.join(', ')}`,
      headers: { Allow: allow.join(', ') },
    }),
  conflict: (detail: string) => new Problem({ status: 409, type: 'conflict', title: 'Conflict', detail }),
  tooLarge: (limit: number) =>
    new Problem({
      status: 413,
      type: 'payload-too-large',
      title: 'Payload too large',
      detail: `the request body exceeds the limit of ${limit} bytes`,
      extra: { limit_bytes: limit },
    }),
  unsupportedMediaType: (got: string | undefined, expected: string[], hint?: string) =>
    new Problem({
      status: 415,
      type: 'unsupported-media-type',
      title: 'Unsupported media type',
      detail: `${got ? `"${got}"` : 'a body without Content-Type'} is not supported; send ${expected.join(' or ')}${hint ? ` (${hint})` : ''}`,
    }),
  tooManyRequests: (detail: string, retryAfterSeconds: number) =>
    new Problem({
      status: 429,
      type: 'too-many-requests',
      title: 'Too many requests',
      detail,
      headers: { 'Retry-After': String(retryAfterSeconds) },
    }),
  unavailable: (dependency: string, detail: string) =>
    new Problem({
      status: 503,
      type: 'dependency-unavailable',
      title: 'Service unavailable',
      detail,
      headers: { 'Retry-After': '5' },
      extra: { dependency },
    }),
  timeout: (detail: string) => new Problem({ status: 504, type: 'timeout', title: 'Timed out', detail }),
  internal: () =>
    new Problem({
      status: 500,
      type: 'internal',
      title: 'Internal error',
      detail: 'the service failed to handle this request; the tracking id identifies it in the logs',
    }),
};

/** Field path as users write it: `resourceLogs[0].scopeLogs[1].logRecords`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out === '' ? '(body)' : out;
}

export function zodFieldErrors(error: z.ZodError, prefix: readonly PropertyKey[] = []): FieldError[] {
  return error.issues.map((i) => ({ field: fieldPath([...prefix, ...i.path]), message: i.message }));
}
