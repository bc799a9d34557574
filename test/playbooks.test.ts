import path from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { RunContext } from '../src/agents/context.ts';
import { narrate } from '../src/agents/narrator.ts';
import { buildSpecialist, type SpecialistDefinition } from '../src/agents/specialists/specialist.ts';
import type { Store } from '../src/clients/clickhouse.ts';
import type { ChatEvent } from '../src/core/events.ts';
import { ServiceMetrics } from '../src/observability/metrics.ts';
import { loadPolicies } from '../src/policies/load.ts';
import type { PromptRegistry } from '../src/prompts/registry.ts';
import type { Redactor } from '../src/policies/redaction.ts';
import { call } from '../src/tools/registry.ts';

describe('playbook steps are typed tool calls', () => {
  it('does not compile a missing tool or an argument the tool does not take', () => {
    // These lines are checked by `tsc` (npm test runs it first): each must be an error.
    // @ts-expect-error: there is no such tool
    const missing = () => call('no_such_tool', {});
    // @ts-expect-error: service_overview has no `pattern` argument
    const wrongArgument = () => call('service_overview', { pattern: 'x' });
    // @ts-expect-error: `limit` of log_search is a number
    const wrongType = () => call('log_search', { limit: 'five' });
    expect([missing, wrongArgument, wrongType].every((f) => typeof f === 'function')).toBe(true);
    expect(call('log_search', { service: 'cart', limit: 5 })).toEqual({ tool: 'log_search', args: { service: 'cart', limit: 5 } });
  });
});

describe('a tool call that fails at run time', () => {
  it('is reported with its reason and failing field, counted, and named in the answer', async () => {
    const metrics = new ServiceMetrics({ defaultMetrics: false });
    const events: ChatEvent[] = [];
    const logged: string[] = [];
    const now = Date.parse('2026-11-28T10:00:00Z');
    // Well-typed arguments the tool still refuses: the window ends before it starts.
    const def: SpecialistDefinition = {
      name: 'sre',
      plan: () => [call('log_search', { from: '2026-11-28T09:30:00Z', to: '2026-11-28T09:00:00Z' })],
      assess: async () => [],
    };
    const rc: RunContext = {
      deps: {
        // The refusal comes before any query, so no store is touched.
        store: {} as Store,
        policies: loadPolicies(path.resolve('policies')),
        prompts: {} as PromptRegistry,
        tenantAttribute: 'k8s.namespace.name',
        logger: pino({ level: 'warn' }, { write: (line: string) => logged.push(line) }),
        metrics,
      },
      workspace: 'shop',
      threadId: 't1',
      sub: 'alice',
      roles: ['sre'],
      trackingId: 'trk-1',
      now,
      services: [],
      ids: (prefix) => `${prefix}1`,
      emit: (e) => events.push(e),
      signal: undefined,
      redactor: { redact: (t: string) => t } as Redactor,
      usage: { llmCalls: 0, promptTokens: 0, completionTokens: 0 },
    };
    const out = await buildSpecialist(def).invoke(
      {
        assignment: {
          question: 'q',
          facts: {
            services: [],
            words: [],
            intent: 'root_cause',
            entities: [],
            defaultWindowMs: 1_800_000,
            subjectSource: 'none',
            timeNotes: [],
          },
          window: { from: now - 1800_000, to: now },
          focus: [],
          intent: 'root_cause',
        },
      },
      { context: rc },
    );
    const run = out.runs[0]!;
    expect(run.error).toMatch(/time window is not valid: from the window must end after it starts/);
    expect(run.error_fields).toEqual(['from']);
    expect(events).toContainEqual(
      expect.objectContaining({ event: 'agent.step', data: expect.objectContaining({ tool: 'log_search', status: 'failed' }) }),
    );
    expect(logged.join('')).toContain('"fields":["from"]');
    const counted = await metrics.registry.getSingleMetricAsString('aiops_tool_failures_total');
    expect(counted).toContain('aiops_tool_failures_total{tool="log_search",reason="validation"} 1');
    const text = narrate({
      workspace: 'shop',
      window: { from: now - 1800_000, to: now },
      agents: ['sre'],
      hypotheses: [],
      evidence: [],
      runs: out.runs,
    });
    expect(text).toMatch(/could not be gathered: log_search \(the time window is not valid: from the window must end after it starts\)/);
  });
});
