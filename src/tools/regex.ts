import { readRows, type Store } from '../clients/clickhouse.ts';
import type { FieldError } from '../core/problem.ts';
import { PolicyError } from '../policies/load.ts';
import type { Policies } from '../policies/schema.ts';

/**
 * Regular expressions for the telemetry queries are checked by ClickHouse
 * itself, not by a JavaScript look-alike: RE2 and JavaScript disagree both
 * ways (RE2 refuses look-ahead and back-references, accepts `(?P<name>…)`),
 * and no RE2 binding is a dependency of the service. Checking up front
 * matters because ClickHouse compiles a pattern only when rows reach it: on
 * an empty window a bad pattern would pass silently, on a full one it fails
 * the query.
 */

/** Patterns the engine already compiled (a playbook sends the same ones every time). */
const valid = new Set<string>();
const MAX_REMEMBERED = 1000;

/** Why ClickHouse refuses `pattern` as a regular expression, or undefined when it compiles. */
export async function regexProblem(store: Store, pattern: string): Promise<string | undefined> {
  if (valid.has(pattern)) return undefined;
  try {
    await readRows(store, { query: "SELECT match('', {pattern:String}) AS ok", params: { pattern } });
  } catch (err) {
    const reason = compileError(err);
    if (reason !== undefined) return reason;
    throw err;
  }
  if (valid.size >= MAX_REMEMBERED) valid.clear();
  valid.add(pattern);
  return undefined;
}

/** RE2's own words from a CANNOT_COMPILE_REGEXP error (code 427); undefined for any other error. */
export function compileError(err: unknown): string | undefined {
  const e = err as { code?: string; type?: string; message?: string };
  if (e?.code !== '427' && e?.type !== 'CANNOT_COMPILE_REGEXP') return undefined;
  const said = /error: (.*?)\. Look at/s.exec(e.message ?? '')?.[1];
  return `not a valid RE2 regular expression${said ? `: ${said}` : ''}`;
}

/** Field errors for the arguments among `fields` whose pattern does not compile. */
export async function patternErrors(store: Store, fields: readonly string[], args: Record<string, unknown>): Promise<FieldError[]> {
  const errors: FieldError[] = [];
  for (const field of fields) {
    const value = args[field];
    if (typeof value !== 'string' || value === '') continue;
    const reason = await regexProblem(store, value);
    if (reason) errors.push({ field, message: reason });
  }
  return errors;
}

/** Policy patterns the tools send to ClickHouse: a bad one stops the start, naming file and field. */
export async function checkPolicyPatterns(store: Store, tools: Policies['tools'], file = 'policies/tools.yaml'): Promise<void> {
  const reason = await regexProblem(store, tools.auth_failures.body_pattern);
  if (reason) throw new PolicyError(file, 'auth_failures.body_pattern', reason);
}
