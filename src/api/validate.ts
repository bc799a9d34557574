import type { Context } from 'hono';
import type { z } from 'zod';
import { readJson } from './body.ts';
import { problems, zodFieldErrors } from '../core/problem.ts';

/** A JSON body checked against a zod schema; 400 names every failing field. */
export async function jsonBody<T extends z.ZodType>(c: Context, schema: T, limit: number): Promise<z.output<T>> {
  const { value } = await readJson(c, limit);
  return parseWith(schema, value, 'the request body is not valid');
}

export function parseWith<T extends z.ZodType>(schema: T, value: unknown, detail: string): z.output<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw problems.validation(detail, zodFieldErrors(parsed.error));
  return parsed.data;
}

/** Query-string parameters checked against a zod schema. */
export function queryParams<T extends z.ZodType>(c: Context, schema: T): z.output<T> {
  return parseWith(schema, c.req.query(), 'the query parameters are not valid');
}
