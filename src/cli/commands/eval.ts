import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Config } from '../../config/env.ts';
import { parseVariants } from '../../evals/engine.ts';
import { compareResults, comparisonMarkdown, type EvalReport, toMarkdown } from '../../evals/report.ts';
import type { PairedComparison } from '../../evals/stats.ts';
import { CliError, ServiceClient, cliToken } from '../client.ts';
import { COMMAND_USAGE } from '../usage.ts';

interface RunView {
  run_id: string;
  status: 'running' | 'done' | 'failed';
  progress?: { done: number; total: number; passed: number; current?: string };
  error?: string;
  report: EvalReport | null;
}

/** The workspace the runner's own token names (each case gets its own, minted by the service). */
const RUNNER_WORKSPACE = 'eval-runner';

function client(config: Config): ServiceClient {
  return new ServiceClient(config.serviceUrl, cliToken(config, { workspaces: [RUNNER_WORKSPACE], roles: ['eval'] }));
}

function bar(p: NonNullable<RunView['progress']>): string {
  const width = 30;
  const filled = p.total ? Math.round((p.done / p.total) * width) : 0;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.done}/${p.total} cases, ${p.passed} passed${p.current ? ` · ${p.current}` : ''}`;
}

/** Writes the report as JSON and markdown; returns the two paths. */
export function writeReport(report: EvalReport, dir: string): { json: string; markdown: string } {
  fs.mkdirSync(dir, { recursive: true });
  const json = path.join(dir, `${report.run_id}.json`);
  const markdown = path.join(dir, `${report.run_id}.md`);
  fs.writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  fs.writeFileSync(markdown, toMarkdown(report));
  return { json, markdown };
}

/** Starts a run on the service and follows it to the end, progress on stderr; resolves with the report. */
export async function followRun(
  c: ServiceClient,
  body: Record<string, unknown>,
  opts: { pollMs?: number; progress?: boolean } = {},
): Promise<EvalReport> {
  const started = await c.json<RunView>('POST', '/v1/evals/runs', body, { 'X-Workspace': RUNNER_WORKSPACE });
  const err = process.stderr;
  const tty = err.isTTY === true;
  if (opts.progress !== false) err.write(`eval run ${started.run_id}\n`);
  let lastDone = -1;
  let failures = 0;
  for (;;) {
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 1000));
    let run: RunView;
    try {
      run = await c.json<RunView>('GET', `/v1/evals/runs/${started.run_id}`, undefined, { 'X-Workspace': RUNNER_WORKSPACE });
      failures = 0;
    } catch (e) {
      // A busy service may drop a poll; the run goes on without us. Give up after a minute of failures.
      if (++failures > 30) throw e;
      await new Promise((r) => setTimeout(r, 2000));
      continue;
    }
    if (opts.progress !== false && run.progress && run.progress.done !== lastDone) {
      lastDone = run.progress.done;
      err.write(tty ? `\r\x1b[2K${bar(run.progress)}` : `${bar(run.progress)}\n`);
    }
    if (run.status === 'failed') throw new CliError(`eval run ${run.run_id} failed: ${run.error ?? 'unknown error'}`);
    if (run.status === 'done' && run.report) {
      if (tty && opts.progress !== false) err.write('\n');
      return run.report;
    }
  }
}

async function run(config: Config, argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      suite: { type: 'string' },
      case: { type: 'string' },
      tag: { type: 'string' },
      prompt: { type: 'string', multiple: true },
      model: { type: 'string' },
      repeat: { type: 'string', default: '1' },
      concurrency: { type: 'string' },
      json: { type: 'boolean', default: false },
      out: { type: 'string', default: path.join('evals', 'results') },
    },
    strict: true,
  });
  const repeat = Number(values.repeat);
  if (!Number.isInteger(repeat) || repeat < 1 || repeat > 20) throw new CliError('--repeat: expected a whole number from 1 to 20', 2);
  const concurrency = values.concurrency === undefined ? undefined : Number(values.concurrency);
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 8))
    throw new CliError('--concurrency: expected a whole number from 1 to 8', 2);
  let variants: ReturnType<typeof parseVariants>;
  try {
    variants = parseVariants((values.prompt ?? []).join(';'), values.model);
  } catch (e) {
    throw new CliError((e as Error).message, 2);
  }
  const report = await followRun(client(config), {
    filter: {
      ...(values.suite ? { suite: values.suite } : {}),
      ...(values.case ? { case: values.case } : {}),
      ...(values.tag ? { tag: values.tag } : {}),
    },
    variants,
    repeat,
    ...(concurrency ? { concurrency } : {}),
  });
  const files = writeReport(report, values.out);
  if (values.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else process.stdout.write(toMarkdown(report));
  process.stderr.write(`report: ${files.json}, ${files.markdown}\n`);
}

function readLocal(file: string): EvalReport {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as EvalReport;
  } catch (e) {
    throw new CliError(`${file}: not an eval report (${(e as Error).message})`, 2);
  }
}

async function compare(config: Config, argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { json: { type: 'boolean', default: false }, 'variant-a': { type: 'string' }, 'variant-b': { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  const [a, b] = positionals;
  if (!a || !b || positionals.length > 2) throw new CliError(COMMAND_USAGE.eval, 2);
  let out: { a: string; b: string; variant_a: string; variant_b: string; comparison: Record<string, PairedComparison> };
  if (a.endsWith('.json') && b.endsWith('.json')) {
    // Two report files (evals/results/): compared here, without the service.
    const ra = readLocal(a);
    const rb = readLocal(b);
    const va = values['variant-a'] ?? ra.variants[0]!.name;
    const vb = values['variant-b'] ?? rb.variants[0]!.name;
    out = { a: ra.run_id, b: rb.run_id, variant_a: va, variant_b: vb, comparison: compareResults(ra.results, va, rb.results, vb) };
  } else {
    const q = new URLSearchParams();
    if (values['variant-a']) q.set('variant_a', values['variant-a']);
    if (values['variant-b']) q.set('variant_b', values['variant-b']);
    out = await client(config).json(
      'GET',
      `/v1/evals/runs/${encodeURIComponent(a)}/compare/${encodeURIComponent(b)}${q.size ? `?${q}` : ''}`,
      undefined,
      {
        'X-Workspace': RUNNER_WORKSPACE,
      },
    );
  }
  if (values.json) process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  else
    process.stdout.write(
      `${comparisonMarkdown(out.comparison, `${out.a} (${out.variant_a})`, `${out.b} (${out.variant_b})`).join('\n')}\n`,
    );
}

async function list(config: Config): Promise<void> {
  const { runs } = await client(config).json<{ runs: RunView[] & { created_at: string }[] }>('GET', '/v1/evals/runs', undefined, {
    'X-Workspace': RUNNER_WORKSPACE,
  });
  for (const r of runs as unknown as { run_id: string; status: string; created_at: string }[])
    process.stdout.write(`${r.run_id}\t${r.status}\t${r.created_at}\n`);
}

/** aiops eval run|compare|list: eval suites through the running service. */
export async function evalCommand(config: Config, argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === 'run') return run(config, rest);
  if (sub === 'compare') return compare(config, rest);
  if (sub === 'list') return list(config);
  throw new CliError(COMMAND_USAGE.eval, 2);
}
