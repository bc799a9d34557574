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

/** The telemetry tools: ClickHouse queries in the caller's workspace. */
export const TELEMETRY_TOOLS: TelemetryTool[] = [
  serviceOverview,
  logSearch,
  logPatterns,
  metricDeviation,
  metricSeries,
  traceHotspots,
  recentChanges,
  authFailures,
  resourceEfficiency,
] as unknown as TelemetryTool[];

/** Runbooks and past incidents. */
export const KNOWLEDGE_TOOLS: TelemetryTool[] = [searchRunbooks, similarIncidents] as unknown as TelemetryTool[];

/** Every tool the agents and the API know. */
export const ALL_TOOLS: TelemetryTool[] = [...TELEMETRY_TOOLS, ...KNOWLEDGE_TOOLS];

export function findTool(name: string): TelemetryTool | undefined {
  return ALL_TOOLS.find((t) => t.name === name);
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
