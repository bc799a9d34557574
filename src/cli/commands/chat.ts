import { parseArgs } from 'node:util';
import type { Config } from '../../config/env.ts';
import { CliError, ServiceClient, cliToken } from '../client.ts';
import { readEvents } from '../../clients/service.ts';
import { COMMAND_USAGE } from '../usage.ts';

const BARS = '▁▂▃▄▅▆▇█';

/** A series as one line of block characters, lowest to highest value, at most `width` wide. */
export function sparkline(points: [number, number][], width = 40): string {
  if (!points.length) return '';
  const step = Math.max(1, Math.ceil(points.length / width));
  const values: number[] = [];
  for (let i = 0; i < points.length; i += step) {
    const bucket = points.slice(i, i + step).map((p) => p[1]);
    values.push(Math.max(...bucket));
  }
  const min = Math.min(...values);
  const span = Math.max(...values) - min;
  return values.map((v) => BARS[span > 0 ? Math.round(((v - min) / span) * (BARS.length - 1)) : 0]).join('');
}

const short = (v: number) => (Math.abs(v) >= 100 ? String(Math.round(v)) : String(Number(v.toPrecision(3))));

/** The answer's charts as sparklines with their range, one per line. */
export function chartLines(charts: { title: string; unit: string; points: [number, number][] }[]): string[] {
  return charts
    .filter((c) => c.points.length > 1)
    .map((c) => {
      const v = c.points.map((p) => p[1]);
      const unit = c.unit ? ` ${c.unit}` : '';
      return `${c.title}: ${sparkline(c.points)} ${short(Math.min(...v))}–${short(Math.max(...v))}${unit}`;
    });
}

/**
 * aiops chat "why are payments failing?" [--thread ID] [--workspace shop]:
 * asks through the running service, shows progress on stderr and the answer on stdout.
 */
export async function chatCommand(config: Config, argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { thread: { type: 'string' }, workspace: { type: 'string', default: 'shop' }, json: { type: 'boolean', default: false } },
    allowPositionals: true,
    strict: true,
  });
  const message = positionals.join(' ').trim();
  if (!message) throw new CliError(COMMAND_USAGE.chat, 2);
  const client = new ServiceClient(
    config.serviceUrl,
    cliToken(config, { workspaces: [values.workspace], roles: ['sre', 'security', 'efficiency'] }),
  );
  const res = await client.request(
    'POST',
    '/v1/chat',
    { message, ...(values.thread ? { thread_id: values.thread } : {}) },
    { Accept: 'text/event-stream', 'X-Workspace': values.workspace },
  );
  if (!res.ok || !res.body) {
    const text = await res.text();
    let detail = text;
    try {
      detail = (JSON.parse(text) as { detail?: string }).detail ?? text;
    } catch {
      /* not JSON */
    }
    throw new CliError(`the service answered ${res.status}: ${detail}`);
  }
  const err = process.stderr;
  let streamed = false;
  for await (const e of readEvents(res.body)) {
    const d = e.data;
    switch (e.event) {
      case 'run.started':
        err.write(`thread ${d.thread_id} (turn ${d.turn})\n`);
        break;
      case 'agent.step':
        if (d.tool) {
          if (d.status === 'started') err.write(`  ${d.agent}: ${d.tool}…\n`);
          if (d.status === 'failed') err.write(`  ${d.agent}: ${d.tool} failed: ${d.detail}\n`);
        } else if (d.step === 'route' && d.status === 'done') err.write(`  routed to ${d.detail}\n`);
        else if (d.status === 'skipped') err.write(`  ${d.agent} skipped: ${d.detail}\n`);
        else if (d.step === 'verify') err.write(`  check: ${d.detail}\n`);
        break;
      case 'token':
        if (!values.json) process.stdout.write(String(d.text));
        streamed = true;
        break;
      case 'answer':
        if (values.json) process.stdout.write(`${JSON.stringify(d, null, 2)}\n`);
        else {
          // A streamed draft may have been trimmed by the grounding check: print the final text.
          if (streamed) process.stdout.write('\n\n--- checked answer ---\n');
          process.stdout.write(`${d.answer}\n`);
          const hyps = (d.hypotheses as { service: string; kind: string; score: number }[]) ?? [];
          const charts = chartLines((d.charts as { title: string; unit: string; points: [number, number][] }[]) ?? []);
          if (charts.length) process.stdout.write(`\n${charts.join('\n')}\n`);
          if (hyps.length) err.write(`\nhypotheses: ${hyps.map((h) => `${h.service} (${h.kind}, ${h.score})`).join('; ')}\n`);
          err.write(`path: ${d.path}${d.model ? ` (${d.model})` : ''} · thread ${d.thread_id}\n`);
        }
        break;
      case 'error':
        throw new CliError(`the answer failed: ${d.detail}`);
    }
  }
}
