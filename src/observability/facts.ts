/**
 * Facts of every request, unsampled: the request itself, the graph's nodes,
 * tool calls with their queries, model calls, grounding results and turns.
 * Stats and the trace by tracking id are computed from these rows (never from
 * the sampled wide events). Storage writes them (src/storage/request-facts.ts);
 * the layers that produce them see only this interface.
 */
export type FactKind = 'request' | 'turn' | 'node' | 'tool' | 'model' | 'grounding' | 'briefing';

export interface Fact {
  kind: FactKind;
  trackingId: string;
  workspace: string;
  /** Route, node, tool, model operation or turn kind. */
  name: string;
  status: 'ok' | 'error';
  durationMs: number;
  /** When it ended (ms since the epoch); now when absent. */
  at?: number;
  /** Labels to group by: agent, intent, severity, model, prompt, prompt_version, cache, path, ... */
  attrs?: Record<string, string>;
  /** Figures: tokens, rows read, unsupported claims, ... */
  nums?: Record<string, number>;
}

export interface FactSink {
  record(f: Fact): void;
}

/** Drops everything: for library use and tests that do not look at facts. */
export const noFacts: FactSink = { record: () => undefined };
