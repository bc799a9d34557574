import { parseArgs } from 'node:util';
import type { Config } from '../../config/env.ts';
import { CliError, ServiceClient, cliToken } from '../client.ts';

interface BriefingOut {
  id: string;
  workspace: string;
  name: string;
  period: { start: string; end: string };
  quiet: boolean;
  summary: string;
  incidents: { status: string; severity: string; origin: string; summary: string; start: string; end: string }[];
  recommendations?: { text: string }[];
  delivery?: { channel: string; target: string; status: string; attempts: number; error?: string }[];
  gaps?: string[];
}

const when = (p: { start: string; end: string }) => `${p.start.slice(0, 16).replace('T', ' ')}–${p.end.slice(11, 16)} UTC`;

/** A briefing as text: the summary, its incidents, recommendations and delivery. */
function show(b: BriefingOut, serviceUrl: string): string {
  const lines = [`${b.id}  ${b.workspace}/${b.name}  ${when(b.period)}${b.quiet ? '  (quiet)' : ''}`, '', b.summary, ''];
  if (b.incidents.length) {
    lines.push('incidents:');
    for (const i of b.incidents) lines.push(`  ${i.status.padEnd(8)} ${i.severity.padEnd(8)} ${i.origin}: ${i.summary}`);
  }
  if (b.recommendations?.length) {
    lines.push('recommendations:');
    for (const r of b.recommendations) lines.push(`  - ${r.text}`);
  }
  for (const d of b.delivery ?? [])
    lines.push(`delivery ${d.channel} ${d.target}: ${d.status} (${d.attempts} attempt(s))${d.error ? `: ${d.error}` : ''}`);
  for (const g of b.gaps ?? []) lines.push(`not read: ${g}`);
  lines.push(`page: ${serviceUrl.replace(/\/$/, '')}/v1/briefings/${b.id}.html`);
  return lines.join('\n');
}

/**
 * aiops briefing run | list | show ID: through the running service's API,
 * like the other commands that read data.
 */
export async function briefingCommand(config: Config, argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      workspace: { type: 'string', default: 'shop' },
      name: { type: 'string' },
      period: { type: 'string' },
      end: { type: 'string' },
      limit: { type: 'string', default: '20' },
      json: { type: 'boolean', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  const [sub, arg] = positionals;
  const client = new ServiceClient(config.serviceUrl, cliToken(config, { workspaces: [values.workspace], roles: ['sre'] }));
  const headers = { 'X-Workspace': values.workspace, 'User-Agent': 'aiops-cli' };
  const print = (v: unknown, text: string): void => void process.stdout.write(`${values.json ? JSON.stringify(v, null, 2) : text}\n`);
  switch (sub) {
    case 'run': {
      const body = {
        ...(values.name ? { name: values.name } : {}),
        ...(values.period ? { period: values.period } : {}),
        ...(values.end ? { end: values.end } : {}),
      };
      const b = await client.json<BriefingOut>('POST', '/v1/briefings', body, headers);
      return print(b, show(b, config.serviceUrl));
    }
    case 'list': {
      const q = new URLSearchParams({ limit: values.limit, ...(values.name ? { name: values.name } : {}) });
      const out = await client.json<{ briefings: (Omit<BriefingOut, 'incidents'> & { incidents: number })[] }>(
        'GET',
        `/v1/briefings?${q}`,
        undefined,
        headers,
      );
      const list = out.briefings;
      process.stderr.write(`${list.length} briefing(s)\n`);
      return print(
        out,
        list.map((b) => `${b.id}  ${b.name.padEnd(12)} ${when(b.period)}  ${b.quiet ? 'quiet' : `${b.incidents} incident(s)`}`).join('\n'),
      );
    }
    case 'show': {
      if (!arg) throw new CliError('usage: aiops briefing show ID', 2);
      const b = await client.json<BriefingOut>('GET', `/v1/briefings/${encodeURIComponent(arg)}`, undefined, headers);
      return print(b, show(b, config.serviceUrl));
    }
    default:
      throw new CliError('usage: aiops briefing run [--period 1h] [--name N] [--end TIME] | list | show ID', 2);
  }
}
