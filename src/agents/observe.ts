import { inSpan } from '../observability/tracing.ts';
import { runContext, type AgentConfig } from './context.ts';

/**
 * A graph node that leaves a span (child of the run's) and a `node` fact
 * with its duration, whatever it returns or throws.
 */
export function observedNode<I, O>(name: string, fn: (input: I, config: AgentConfig) => O | Promise<O>) {
  return async (input: I, config: AgentConfig): Promise<O> => {
    const rc = runContext(config);
    const started = performance.now();
    let status: 'ok' | 'error' = 'ok';
    try {
      return await inSpan(rc.deps.tracer, `node ${name}`, { 'aiops.node': name }, async () => fn(input, config));
    } catch (err) {
      status = 'error';
      throw err;
    } finally {
      rc.deps.facts?.record({
        kind: 'node',
        trackingId: rc.trackingId,
        workspace: rc.workspace,
        name,
        status,
        durationMs: performance.now() - started,
      });
    }
  };
}
