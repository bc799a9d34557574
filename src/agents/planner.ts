import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { z } from 'zod';
import { hasRole } from '../core/scope.ts';
import { Problem } from '../core/problem.ts';
import { toolWindow, type TimeWindow } from '../core/window.ts';
import { render, refOf, type PromptRef } from '../prompts/registry.ts';
import { prepareRun } from '../tools/definition.ts';
import { describeTool, findTool, TELEMETRY_TOOLS, toolRoles, type ToolCall } from '../tools/registry.ts';
import { toolContext, type RunContext } from './context.ts';
import { structuredCall } from './llm.ts';

/** The most calls one plan may make: small models plan a few steps well and long loops badly. */
export const MAX_PLANNED_CALLS = 4;

const PlanReply = z.object({
  calls: z
    .array(z.object({ tool: z.string().max(100), args: z.record(z.string(), z.unknown()).default({}) }))
    .max(8)
    .default([]),
  reason: z.string().max(400).default(''),
});

export interface ModelPlan {
  steps: ToolCall[];
  /** Calls refused and why, and how the plan came about. */
  notes: string[];
  prompts: PromptRef[];
}

/**
 * Checks one planned call as the tool itself would: it must be in the
 * catalogue, allowed to the caller's roles, and its arguments must fit the
 * schema and window rules. The turn's window is used when the call names none.
 */
function checkCall(rc: RunContext, window: TimeWindow, call: { tool: string; args: Record<string, unknown> }): ToolCall | string {
  const tool = findTool(call.tool);
  if (!tool || tool.category === 'knowledge') return `${call.tool}: no such telemetry tool`;
  const roles = toolRoles(rc.deps.policies.tools, tool.name);
  if (!hasRole({ sub: rc.sub, roles: rc.roles, workspaces: [rc.workspace] }, ...roles))
    return `${tool.name}: needs the role ${roles.join(' or ')}`;
  const named = ['from', 'to', 'last'].some((k) => call.args[k] !== undefined);
  const args = tool.timeless || named ? call.args : { ...call.args, ...toolWindow(window) };
  try {
    prepareRun(tool, toolContext(rc), args);
  } catch (err) {
    if (err instanceof Problem) return `${tool.name}: ${(err.errors ?? []).map((e) => `${e.field} ${e.message}`).join('; ') || err.detail}`;
    return `${tool.name}: ${(err as Error).message}`;
  }
  return { tool: tool.name, args } as ToolCall;
}

/**
 * For a question no known intent covers: one structured-output call asks
 * the model for a few tool calls from the typed catalogue; each is checked
 * (tool, roles, arguments) before anything runs. When some are refused, one
 * more round tells the model why; what still does not fit is left out and
 * said in the answer. The service runs the calls in the caller's scope.
 */
export async function planWithModel(
  rc: RunContext,
  model: BaseChatModel,
  question: string,
  window: TimeWindow,
  services: string[],
): Promise<ModelPlan> {
  const prompt = rc.deps.prompts.get('plan');
  const catalogue = TELEMETRY_TOOLS.map((t) => {
    const d = describeTool(t, rc.deps.policies.tools);
    return `- ${d.name}: ${d.description} Arguments: ${JSON.stringify(d.arguments)}`;
  }).join('\n');
  const notes: string[] = [];
  const steps: ToolCall[] = [];
  let feedback = '';
  for (let round = 0; round < 2 && steps.length === 0; round++) {
    const { system, user } = render(prompt, {
      question: rc.redactor.redact(question),
      services: services.join(', ') || '(none seen yet)',
      window: `${new Date(window.from).toISOString()} to ${new Date(window.to).toISOString()}`,
      tools: catalogue,
      feedback,
    });
    const reply = await structuredCall(rc, model, PlanReply, 'plan', system, user, refOf(prompt));
    const refused: string[] = [];
    for (const c of reply.calls.slice(0, MAX_PLANNED_CALLS)) {
      const checked = checkCall(rc, window, c);
      if (typeof checked === 'string') refused.push(checked);
      else steps.push(checked);
    }
    if (reply.calls.length > MAX_PLANNED_CALLS)
      refused.push(`${reply.calls.length - MAX_PLANNED_CALLS} call(s) beyond the ${MAX_PLANNED_CALLS} a plan may make`);
    if (refused.length) notes.push(`planned calls left out (round ${round + 1}): ${refused.join('; ')}`);
    // One refinement round, only when nothing of the first plan could run.
    feedback = refused.length
      ? `Your previous plan was refused: ${refused.join('; ')}. Plan again with tools and arguments from the catalogue only.`
      : '';
    if (!refused.length) break;
  }
  return { steps, notes, prompts: [refOf(prompt)] };
}
