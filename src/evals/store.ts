import { insertCompact, readRows, type Store } from '../clients/clickhouse.ts';
import type { EvalReport } from './report.ts';
import type { CaseResult } from './score.ts';

/*
 * Eval runs in the service's own store: one row per case, variant and repeat in aiops_eval_results
 * (prompt ids, versions and hashes, model, commit, tracking id), and each run's options and final
 * report in aiops_eval_runs (the latest row of a run wins).
 */

const RESULT_COLUMNS = [
  'run_id',
  'created_at',
  'suite',
  'case_id',
  'variant',
  'repeat',
  'pass',
  'missed',
  'checks',
  'rca_rank',
  'abstained',
  'unsupported_verifier',
  'unsupported_independent',
  'tools',
  'latency_ms',
  'llm_calls',
  'prompt_tokens',
  'completion_tokens',
  'cost',
  'path',
  'model',
  'prompt_ids',
  'prompt_versions',
  'prompt_hashes',
  'commit',
  'tracking_id',
  'thread_id',
  'workspace',
  'tags',
];

export async function saveResult(store: Store, runId: string, commit: string, r: CaseResult): Promise<void> {
  await insertCompact(store, 'aiops_eval_results', RESULT_COLUMNS, [
    [
      runId,
      (Date.now() / 1000).toFixed(3),
      r.suite,
      r.case,
      r.variant,
      r.repeat,
      r.pass ? 1 : 0,
      r.missed,
      JSON.stringify(r.checks),
      r.rca_rank ?? -1,
      r.abstained ? 1 : 0,
      r.unsupported.verifier,
      r.unsupported.numbers.length + r.unsupported.services.length,
      r.tools,
      r.latency_ms,
      r.usage.llm_calls,
      r.usage.prompt_tokens,
      r.usage.completion_tokens,
      r.cost,
      r.path,
      r.model ?? '',
      r.prompts.map((p) => p.id),
      r.prompts.map((p) => p.version),
      r.prompts.map((p) => p.hash),
      commit,
      r.tracking_id,
      r.thread_id,
      r.workspace,
      r.tags,
    ],
  ]);
}

export type RunStatus = 'running' | 'done' | 'failed';

export interface StoredRun {
  run_id: string;
  created_at: string;
  updated_at: string;
  status: RunStatus;
  created_by: string;
  options: Record<string, unknown>;
  report: EvalReport | null;
  error?: string;
}

export async function saveRun(
  store: Store,
  run: { run_id: string; created_at: number; status: RunStatus; created_by: string; options: unknown; report?: EvalReport; error?: string },
): Promise<void> {
  await insertCompact(
    store,
    'aiops_eval_runs',
    ['run_id', 'updated_at', 'created_at', 'status', 'created_by', 'options', 'report'],
    [
      [
        run.run_id,
        (Date.now() / 1000).toFixed(3),
        (run.created_at / 1000).toFixed(3),
        run.status,
        run.created_by,
        JSON.stringify(run.options ?? {}),
        run.report ? JSON.stringify(run.report) : run.error ? JSON.stringify({ error: run.error }) : '',
      ],
    ],
  );
}

interface RunRow {
  run_id: string;
  created_at: string;
  updated_at: string;
  status: RunStatus;
  created_by: string;
  options: string;
  report: string;
}

const utc = (s: string) => new Date(s + (s.endsWith('Z') ? '' : 'Z')).toISOString();

function toRun(r: RunRow, withReport: boolean): StoredRun {
  const body = r.report ? (JSON.parse(r.report) as EvalReport & { error?: string }) : null;
  return {
    run_id: r.run_id,
    created_at: utc(r.created_at),
    updated_at: utc(r.updated_at),
    status: r.status,
    created_by: r.created_by,
    options: JSON.parse(r.options || '{}') as Record<string, unknown>,
    report: withReport && body && !body.error ? body : null,
    ...(body?.error ? { error: body.error } : {}),
  };
}

export async function loadRun(store: Store, runId: string): Promise<StoredRun | undefined> {
  const [row] = await readRows<RunRow>(store, {
    query: `SELECT run_id, created_at, updated_at, status, created_by, options, report
            FROM aiops_eval_runs FINAL WHERE run_id = {id:String}`,
    params: { id: runId },
  });
  return row ? toRun(row, true) : undefined;
}

export async function listRuns(store: Store, limit: number): Promise<StoredRun[]> {
  const rows = await readRows<RunRow>(store, {
    query: `SELECT run_id, created_at, updated_at, status, created_by, options, '' AS report
            FROM aiops_eval_runs FINAL ORDER BY created_at DESC LIMIT {limit:UInt32}`,
    params: { limit },
  });
  return rows.map((r) => toRun(r, false));
}
