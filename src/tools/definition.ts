import type { z } from 'zod';
import { problems, zodFieldErrors } from '../core/problem.ts';
import { renderEvidence, type Evidence } from '../core/evidence.ts';
import { ToolRun, type ToolContext } from './run.ts';
import { patternErrors } from './regex.ts';
import { hhmm } from '../core/window.ts';
import type { TimeRange } from '../core/window.ts';

/** What a tool returns: evidence, and the same compactly rendered for a prompt. */
export interface ToolResult {
  tool: string;
  workspace: string;
  window: TimeRange;
  baseline?: TimeRange;
  evidence: Evidence[];
  rendered: string;
  truncated: boolean;
  /** Anything the reader should know (no data, a fallback taken). */
  notes: string[];
  stats: { queries: number; query_ids: string[]; elapsed_ms: number; query_stats?: ToolRun['queryStats'] };
  /** With ToolContext.recordQueries: the queries as run, for benchmarks. */
  recorded?: ToolRun['recorded'];
}

interface ToolOutput {
  evidence: Evidence[];
  notes?: string[];
  /** Whether the tool compared against a baseline (shown in the result). */
  usesBaseline?: boolean;
}

export interface TelemetryTool<S extends z.ZodObject = z.ZodObject, N extends string = string> {
  /** The name playbooks, the API and models call the tool by. */
  name: N;
  /** Evidence ids of this tool start with it (so1, so2, ...). */
  prefix: string;
  category: 'sre' | 'security' | 'efficiency' | 'knowledge';
  description: string;
  /** Strict: unknown fields are rejected. */
  args: S;
  defaultWindow: string;
  /** Default baseline length before the window (else four times the window, 1h to 24h). */
  defaultBaseline?: string;
  /** Not about a time window (a runbook search): the rendering leaves the window out. */
  timeless?: boolean;
  /** Arguments that are RE2 regular expressions: checked by ClickHouse before the tool runs, named in a 400. */
  patterns?: readonly (keyof z.input<S> & string)[];
  run(run: ToolRun, args: z.output<S>): Promise<ToolOutput>;
}

/** Keeps the tool's literal name and argument schema in its type, so calls to it are checked. */
export function defineTool<S extends z.ZodObject, const N extends string>(tool: TelemetryTool<S, N>): TelemetryTool<S, N> {
  return tool;
}

/**
 * Checks a call as the tool would before running it: the arguments against
 * its schema, then the window they give. Throws the same 400 a run would;
 * returns the run, ready to query. Plans are checked with it before they run.
 */
export function prepareRun<S extends z.ZodObject>(
  tool: TelemetryTool<S>,
  ctx: ToolContext,
  rawArgs: unknown,
): { run: ToolRun; args: z.output<S> } {
  const parsed = tool.args.safeParse(rawArgs ?? {});
  if (!parsed.success) throw problems.validation(`the arguments of ${tool.name} are not valid`, zodFieldErrors(parsed.error));
  const args = parsed.data as z.output<S> & Record<string, string | undefined>;
  const carried = Object.fromEntries((tool.patterns ?? []).flatMap((f) => (typeof args[f] === 'string' ? [[f, args[f]]] : [])));
  return { run: new ToolRun(ctx, tool.name, tool.prefix, args, tool.defaultWindow, tool.defaultBaseline, carried), args };
}

/** Validates arguments, runs the tool in the caller's workspace, renders its evidence within budget. */
export async function runTool<S extends z.ZodObject>(tool: TelemetryTool<S>, ctx: ToolContext, rawArgs: unknown): Promise<ToolResult> {
  const started = performance.now();
  const { run, args } = prepareRun(tool, ctx, rawArgs);
  const patterns = tool.patterns ?? [];
  if (patterns.length) {
    const errors = await patternErrors(ctx.store, patterns, args);
    if (errors.length) throw problems.validation(`the arguments of ${tool.name} are not valid`, errors);
  }
  const out = await tool.run(run, args);
  const w = run.window;
  const header = tool.timeless
    ? `${tool.name} ${ctx.workspace}:`
    : `${tool.name} ${ctx.workspace} ${hhmm(w.from)}–${hhmm(w.to)} UTC${out.usesBaseline ? ` (baseline ${hhmm(w.baselineFrom)}–${hhmm(w.baselineTo)})` : ''}:`;
  const notes = out.notes ?? [];
  const rendered = renderEvidence(notes.length ? `${header} ${notes.join('; ')}` : header, out.evidence, run.budget.render_tokens);
  return {
    tool: tool.name,
    workspace: ctx.workspace,
    window: run.windowRange,
    ...(out.usesBaseline ? { baseline: run.baselineRange } : {}),
    evidence: out.evidence,
    rendered: rendered.text,
    truncated: rendered.truncated,
    notes,
    stats: {
      queries: run.queryIds.length,
      query_ids: run.queryIds,
      elapsed_ms: Math.round(performance.now() - started),
      query_stats: run.queryStats,
    },
    ...(ctx.recordQueries ? { recorded: run.recorded } : {}),
  };
}

/** Formatting helpers shared by the tools' summaries. */
export const fmt = {
  pct: (v: number) => `${(v * 100).toFixed(v < 0.001 && v > 0 ? 2 : 1)}%`,
  ms: (v: number) => (v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v >= 100 ? Math.round(v) : v.toFixed(1)} ms`),
  num: (v: number) => (Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en-US') : Math.abs(v) >= 1 ? v.toFixed(1) : v.toPrecision(2)),
  ratio: (v: number) => `×${v >= 10 ? Math.round(v) : v.toFixed(1)}`,
};
