import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { Store } from '../clients/clickhouse.ts';
import type { Logger } from '../observability/logger.ts';
import { problems } from '../core/problem.ts';
import { type CaseFilter, CaseError, loadCases } from './case.ts';
import { knowledgeCases, type Progress, runEval } from './engine.ts';
import { compareResults, type EvalReport, type Variant } from './report.ts';
import type { Price } from './score.ts';
import { listRuns, loadRun, saveResult, saveRun, type StoredRun } from './store.ts';
import type { PairedComparison } from './stats.ts';

export interface RunRequest {
  filter: CaseFilter;
  variants: Variant[];
  repeat: number;
  concurrency?: number;
}

export interface RunView extends StoredRun {
  progress?: Progress;
}

/** The commit the service runs (AIOPS_COMMIT, else git), for the result rows. */
export function currentCommit(): string {
  if (process.env.AIOPS_COMMIT) return process.env.AIOPS_COMMIT;
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

/**
 * Eval runs of the service: started in the background, their progress in memory while they run,
 * their rows and report in the store once scored, so a finished run reads back after a restart.
 */
export class EvalRuns {
  private readonly running = new Map<string, { view: RunView; controller: AbortController; done: Promise<void> }>();

  constructor(
    private readonly deps: {
      store: Store;
      logger: Logger;
      /** The evals folder. */
      root: string;
      mint: (workspace: string, roles: string[]) => Promise<string>;
      knownServices: string[];
      matchThreshold: number;
      price: Price;
      commit: string;
    },
  ) {}

  /** Starts a run against the service at baseUrl; resolves once it is recorded (not when it ends). */
  async start(req: RunRequest, createdBy: string, baseUrl: string): Promise<RunView> {
    // Cases are checked before anything starts: a broken file, or a filter nothing matches, is the caller's error.
    let count: number;
    try {
      count = loadCases(this.deps.root, req.filter).length + knowledgeCases(this.deps.root, req.filter).length;
    } catch (err) {
      if (err instanceof CaseError)
        throw problems.validation(`a case file is broken: ${err.message}`, [{ field: err.field || 'case.yaml', message: err.message }]);
      throw err;
    }
    if (count === 0)
      throw problems.validation('no case matches the filter', [
        { field: 'filter', message: `no case matches ${JSON.stringify(req.filter)}` },
      ]);
    const runId = `run-${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}-${randomUUID().slice(0, 6)}`;
    const createdAt = Date.now();
    const options = { ...req, base_url: baseUrl, commit: this.deps.commit };
    await saveRun(this.deps.store, { run_id: runId, created_at: createdAt, status: 'running', created_by: createdBy, options });
    const view: RunView = {
      run_id: runId,
      created_at: new Date(createdAt).toISOString(),
      updated_at: new Date(createdAt).toISOString(),
      status: 'running',
      created_by: createdBy,
      options,
      report: null,
      progress: { done: 0, total: 0, passed: 0 },
    };
    const controller = new AbortController();
    const done = (async () => {
      try {
        const report = await runEval({
          runId,
          baseUrl,
          mint: this.deps.mint,
          root: this.deps.root,
          filter: req.filter,
          variants: req.variants,
          repeat: req.repeat,
          concurrency: req.concurrency,
          price: this.deps.price,
          knownServices: this.deps.knownServices,
          matchThreshold: this.deps.matchThreshold,
          commit: this.deps.commit,
          signal: controller.signal,
          onProgress: (p) => {
            view.progress = p;
            view.updated_at = new Date().toISOString();
          },
          onResult: (r) => saveResult(this.deps.store, runId, this.deps.commit, r),
        });
        await saveRun(this.deps.store, { run_id: runId, created_at: createdAt, status: 'done', created_by: createdBy, options, report });
        view.status = 'done';
        view.report = report;
        this.deps.logger.info({ run_id: runId, wall_ms: report.wall_ms, cases: report.results.length }, 'eval run done');
      } catch (err) {
        const error = (err as Error).message;
        view.status = 'failed';
        view.error = error;
        this.deps.logger.error({ run_id: runId, err: error }, 'eval run failed');
        await saveRun(this.deps.store, {
          run_id: runId,
          created_at: createdAt,
          status: 'failed',
          created_by: createdBy,
          options,
          error,
        }).catch(() => undefined);
      } finally {
        this.running.delete(runId);
      }
    })();
    this.running.set(runId, { view, controller, done });
    return view;
  }

  /** A run: in progress (with its progress), or as stored. */
  async get(runId: string): Promise<RunView | undefined> {
    return this.running.get(runId)?.view ?? (await loadRun(this.deps.store, runId));
  }

  async list(limit: number): Promise<RunView[]> {
    const stored = await listRuns(this.deps.store, limit);
    return stored.map((r) => {
      const live = this.running.get(r.run_id)?.view;
      return live ? { ...r, status: live.status, progress: live.progress } : r;
    });
  }

  /** B compared with A, case by case, on finished runs; each run's first variant unless named. */
  async compare(
    a: string,
    b: string,
    variants: { a?: string; b?: string } = {},
  ): Promise<
    | { a: string; b: string; variant_a: string; variant_b: string; comparison: Record<string, PairedComparison> }
    | { missing: string }
    | { notDone: string }
  > {
    const ra = await this.get(a);
    const rb = await this.get(b);
    if (!ra) return { missing: a };
    if (!rb) return { missing: b };
    if (!ra.report) return { notDone: a };
    if (!rb.report) return { notDone: b };
    const va = variants.a ?? ra.report.variants[0]!.name;
    const vb = variants.b ?? rb.report.variants[0]!.name;
    return { a, b, variant_a: va, variant_b: vb, comparison: compareResults(ra.report.results, va, rb.report.results, vb) };
  }

  /** Cancels runs in progress and waits for them (service shutdown). */
  async stop(): Promise<void> {
    for (const r of this.running.values()) r.controller.abort();
    await Promise.all([...this.running.values()].map((r) => r.done));
  }
}

export type { EvalReport };
