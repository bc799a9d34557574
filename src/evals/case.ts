import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { parseDuration } from '../core/duration.ts';

/*
 * One eval case per folder: evals/<suite>/<case>/case.yaml, with any fixture
 * file beside it. A case says what is asked (a message, an alert, or a short
 * conversation), what telemetry the case's own workspace holds (a simulator
 * scenario with its seed, length and end relative to now, and/or an OTLP JSON
 * fixture), and what a correct answer must and must not contain.
 */

const Duration = z.string().refine((s) => parseDuration(s) !== undefined, 'expected a duration such as 30m, 2h or 1h30m');
/** An end relative to now: "now", "-10m", "-2h". */
const RelativeEnd = z
  .string()
  .regex(/^(now|-\d+(ms|s|m|h|d)(\d+(ms|s|m|h|d))*)$/, 'expected "now" or a negative duration such as -10m or -2h')
  .default('now');

const Alert = z
  .object({
    title: z.string().min(1),
    severity: z.string().optional(),
    status: z.enum(['firing', 'resolved']).optional(),
    service: z.string().optional(),
    description: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    runbook_url: z.string().optional(),
  })
  .strict();

const Input = z
  .object({
    /** A chat message on a new thread. */
    message: z.string().min(1).optional(),
    /** An alert, sent as a plain alert (POST /v1/alerts); the investigation's answer is scored. */
    alert: Alert.optional(),
    /** Earlier turns on the same thread, asked in order before `message`. */
    conversation: z.array(z.string().min(1)).min(1).optional(),
    /** A briefing of the period that ends where the telemetry ends (POST /v1/briefings); its incidents are scored as candidates. */
    briefing: z
      .object({ period: Duration.default('1h') })
      .strict()
      .optional(),
  })
  .strict()
  .refine((i) => [i.message, i.alert, i.briefing].filter((x) => x !== undefined).length === 1, {
    message: 'give exactly one of message, alert or briefing',
  })
  .refine((i) => !(i.conversation && (i.alert || i.briefing)), {
    message: 'a conversation ends with a message, not an alert or a briefing',
    path: ['conversation'],
  });

const Telemetry = z
  .object({
    /** A simulator scenario (see GET /v1/demo/scenarios). */
    scenario: z.string().min(1).optional(),
    seed: z.number().int().min(0).default(7),
    /** Length of the simulated window. */
    length: Duration.default('2h'),
    /** End of the window relative to the moment the case runs. */
    end: RelativeEnd,
    /** Traffic multiplier of the simulator (1 = demo size); smaller runs faster. */
    scale: z.number().positive().max(4).optional(),
    /** An OTLP JSON file beside case.yaml ({resourceLogs?, resourceSpans?, resourceMetrics?}); its latest record is moved to `end`. */
    otlp: z.string().min(1).optional(),
  })
  .strict()
  .refine((t) => t.scenario !== undefined || t.otlp !== undefined, { message: 'give a scenario, an otlp fixture, or both' });

/** A fact the answer must state: words, a pattern, or a number (checked against the evidence, within a tolerance). */
const Fact = z.union([
  z.object({ text: z.string().min(1) }).strict(),
  z.object({ regex: z.string().min(1) }).strict(),
  z
    .object({
      /** A label for the number, e.g. "error rate"; the number must appear in the answer and in the evidence. */
      number: z.string().min(1),
      /** Optional expected value; without it any number the evidence supports passes. */
      value: z.number().optional(),
      /** Relative tolerance (0.1 = 10%). */
      tolerance: z.number().min(0).max(10).default(0.05),
      /** The words the number stands next to in the answer (a regex, case-insensitive). */
      near: z.string().min(1),
    })
    .strict(),
]);
export type Fact = z.infer<typeof Fact>;

const Claim = z.union([z.string().min(1), z.object({ regex: z.string().min(1) }).strict()]);

const Expect = z
  .object({
    /** The root cause: a service and a kind (as the hypotheses name it), or no_fault. */
    root_cause: z
      .union([z.object({ service: z.string().min(1), kind: z.string().min(1).optional() }).strict(), z.literal('no_fault')])
      .optional(),
    facts: z.array(Fact).default([]),
    forbidden: z
      .object({ claims: z.array(Claim).default([]), services: z.array(z.string().min(1)).default([]) })
      .strict()
      .default({ claims: [], services: [] }),
    specialists: z.array(z.string().min(1)).optional(),
    tools: z
      .object({
        match: z.enum(['subset', 'superset', 'exact']).default('superset'),
        names: z.array(z.string().min(1)).min(1),
      })
      .strict()
      .optional(),
    actions: z
      .object({ must: z.array(z.string().min(1)).default([]), must_not: z.array(z.string().min(1)).default([]) })
      .strict()
      .optional(),
    /** The answer must refuse (an action it may not take, a request outside the catalogue, another workspace). */
    refusal: z.boolean().optional(),
    /** The answer's path must be this (llm or deterministic). */
    path: z.enum(['llm', 'deterministic']).optional(),
    /** Answers must cite evidence ids; on by default. */
    citations: z.boolean().default(true),
  })
  .strict();

export const EvalCase = z
  .object({
    description: z.string().min(1),
    tags: z.array(z.string().regex(/^[a-z0-9][a-z0-9:_.-]*$/, 'a tag is lower-case words, e.g. intent:status')).default([]),
    /** Roles of the case's token besides those the runner needs (default: sre). */
    roles: z.array(z.string().min(1)).default(['sre']),
    input: Input,
    telemetry: Telemetry,
    expect: Expect,
  })
  .strict();
export type EvalCaseSpec = z.infer<typeof EvalCase>;

export interface LoadedCase extends EvalCaseSpec {
  /** suite/case, e.g. rca/payment-why-s11. */
  id: string;
  suite: string;
  dir: string;
}

/** A case file that does not parse or validate: names the file and the field. */
export class CaseError extends Error {
  constructor(
    readonly file: string,
    readonly field: string,
    detail: string,
  ) {
    super(`${file}: ${field ? `${field}: ` : ''}${detail}`);
    this.name = 'CaseError';
  }
}

/** Reads and validates one case.yaml. */
export function loadCase(file: string, suite: string): LoadedCase {
  let raw: unknown;
  try {
    raw = parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CaseError(file, '', `not valid YAML (${(err as Error).message.split('\n')[0]})`);
  }
  const parsed = EvalCase.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new CaseError(file, issue.path.join('.'), issue.message);
  }
  const dir = path.dirname(file);
  const c = parsed.data;
  for (const f of c.expect.facts) {
    const pattern = 'regex' in f ? f.regex : 'near' in f ? f.near : undefined;
    if (pattern !== undefined) checkRegex(file, 'expect.facts', pattern);
  }
  for (const cl of c.expect.forbidden.claims) if (typeof cl !== 'string') checkRegex(file, 'expect.forbidden.claims', cl.regex);
  if (c.telemetry.otlp && !fs.existsSync(path.join(dir, c.telemetry.otlp))) {
    throw new CaseError(file, 'telemetry.otlp', `no file ${c.telemetry.otlp} beside the case`);
  }
  return { ...c, id: `${suite}/${path.basename(dir)}`, suite, dir };
}

function checkRegex(file: string, field: string, pattern: string) {
  try {
    new RegExp(pattern, 'i');
  } catch (err) {
    throw new CaseError(file, field, `not a regular expression: ${(err as Error).message}`);
  }
}

export interface CaseFilter {
  suite?: string;
  caseId?: string;
  tag?: string;
}

/**
 * Every case under the evals folder (suites are its folders, results/ excepted), validated; a broken
 * file stops the load naming the file and field. The knowledge suite's queries come from its own file.
 */
export function loadCases(root: string, filter: CaseFilter = {}): LoadedCase[] {
  if (!fs.existsSync(root)) throw new CaseError(root, '', 'no such folder');
  const out: LoadedCase[] = [];
  for (const suite of fs.readdirSync(root, { withFileTypes: true })) {
    if (!suite.isDirectory() || suite.name === 'results') continue;
    if (filter.suite && suite.name !== filter.suite) continue;
    const suiteDir = path.join(root, suite.name);
    for (const entry of fs.readdirSync(suiteDir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const file = path.join(suiteDir, entry.name, 'case.yaml');
      if (!entry.isDirectory() || !fs.existsSync(file)) continue;
      const c = loadCase(file, suite.name);
      if (filter.caseId && c.id !== filter.caseId && path.basename(c.dir) !== filter.caseId) continue;
      if (filter.tag && !c.tags.includes(filter.tag)) continue;
      out.push(c);
    }
  }
  return out;
}

/** When the window ends, in ms, for a case run at `now`. */
export function windowEnd(c: EvalCaseSpec, now: number): number {
  return c.telemetry.end === 'now' ? now : now - parseDuration(c.telemetry.end.slice(1))!;
}
