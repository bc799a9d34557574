import { tool as langchainTool, type StructuredToolInterface } from '@langchain/core/tools';
import { z } from 'zod';
import type { Policies } from '../policies/schema.ts';
import { runTool, type TelemetryTool, type ToolResult } from './definition.ts';
import type { ToolContext } from './run.ts';
import { serviceOverview } from './telemetry/service-overview.ts';
import { logSearch } from './telemetry/log-search.ts';
import { logPatterns } from './telemetry/log-patterns.ts';
import { metricDeviation } from './telemetry/metric-deviation.ts';
import { metricSeries } from './telemetry/metric-series.ts';
import { traceHotspots } from './telemetry/trace-hotspots.ts';
import { recentChanges } from './telemetry/recent-changes.ts';
import { authFailures } from './telemetry/auth-failures.ts';
import { resourceEfficiency } from './telemetry/resource-efficiency.ts';
import { searchRunbooks } from './knowledge/search-runbooks.ts';
import { similarIncidents } from './knowledge/similar-incidents.ts';
import { ranking } from './telemetry/ranking.ts';
import { serviceSeries } from './telemetry/service-series.ts';
import { changeOnset } from './telemetry/change-onset.ts';

type Keyed<T extends readonly TelemetryTool[]> = { [K in T[number] as K['name']]: K };
const byName = <const T extends readonly TelemetryTool[]>(tools: T) => Object.fromEntries(tools.map((t) => [t.name, t])) as Keyed<T>;

/**
 * Every tool the agents and the API know, by name: the telemetry tools
 * (ClickHouse queries in the caller's workspace), then runbooks and past
 * incidents. The map's type carries each tool's name and argument schema.
 */
export const TOOLS = byName([
  serviceOverview,
  logSearch,
  logPatterns,
  metricDeviation,
  metricSeries,
  traceHotspots,
  recentChanges,
  authFailures,
  resourceEfficiency,
  ranking,
  serviceSeries,
  changeOnset,
  searchRunbooks,
  similarIncidents,
]);

export type ToolName = keyof typeof TOOLS;
/** The arguments a tool accepts, as written by a caller (before defaults). */
export type ToolArgs<N extends ToolName> = z.input<(typeof TOOLS)[N]['args']>;
/** A call of one tool with arguments of its own schema: a playbook step. */
export type ToolCall = { [N in ToolName]: { tool: N; args: ToolArgs<N> } }[ToolName];

/** A typed tool call: a missing tool or a wrong argument does not compile. */
export function call<N extends ToolName>(tool: N, args: ToolArgs<N>): ToolCall {
  return { tool, args } as ToolCall;
}

export const ALL_TOOLS: TelemetryTool[] = Object.values(TOOLS);
/** The ClickHouse tools, without the knowledge lookups. */
export const TELEMETRY_TOOLS = ALL_TOOLS.filter((t) => t.category !== 'knowledge');

/** A tool by a name that arrives at run time (an API path, a model's plan). */
export function findTool(name: string): TelemetryTool | undefined {
  return Object.hasOwn(TOOLS, name) ? TOOLS[name as ToolName] : undefined;
}

/** Roles that may run a tool: the policy's list, or `sre`. */
export function toolRoles(policy: Policies['tools'], name: string): string[] {
  return policy.roles[name] ?? ['sre'];
}

export function describeTool(t: TelemetryTool, policy: Policies['tools']) {
  return {
    name: t.name,
    category: t.category,
    description: t.description,
    roles: toolRoles(policy, t.name),
    ...(t.timeless ? {} : { default_window: t.defaultWindow }),
    arguments: z.toJSONSchema(t.args, { io: 'input' }),
  };
}

/**
 * The tools as LangChain tools bound to one caller's context: the workspace
 * and budget come from the context, so nothing a model writes can change them.
 * The model sees the rendered evidence; the evidence itself is the artifact.
 */
export function asLangChainTools(ctx: ToolContext, names?: string[]): StructuredToolInterface[] {
  return ALL_TOOLS.filter((t) => !names || names.includes(t.name)).map((t) =>
    langchainTool(
      async (args: unknown): Promise<[string, ToolResult]> => {
        const result = await runTool(t, ctx, args);
        return [result.rendered, result];
      },
      { name: t.name, description: t.description, schema: t.args, responseFormat: 'content_and_artifact' },
    ),
  );
}
