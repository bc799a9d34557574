import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Config } from '../../config/env.ts';
import { CliError, ServiceClient, cliToken } from '../client.ts';
import { chunkMarkdown, DocumentError, markdownFiles } from '../../knowledge/markdown.ts';
import { DocumentPath, MAX_DOCUMENT_BYTES, MAX_DOCUMENTS_PER_REQUEST } from '../../api/routes/knowledge.ts';

interface Change {
  path: string;
  status: string;
  sections: number;
}

/** Batches under the request limits: at most 100 documents and the body size the service accepts. */
export function batches<T extends { markdown: string; path: string }>(docs: T[], maxBytes: number): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const d of docs) {
    const bytes = Buffer.byteLength(JSON.stringify(d)) + 2;
    if (current.length && (current.length >= MAX_DOCUMENTS_PER_REQUEST || size + bytes > maxBytes)) {
      out.push(current);
      current = [];
      size = 0;
    }
    current.push(d);
    size += bytes;
  }
  if (current.length) out.push(current);
  return out;
}

/**
 * aiops knowledge index FOLDER | search QUERY | list: sends a folder of
 * markdown runbooks to the running service (local or remote) through its API,
 * checking every file first so that a broken one stops the run before
 * anything is sent.
 */
export async function knowledgeCommand(config: Config, argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      workspace: { type: 'string', default: 'shop' },
      prefix: { type: 'string' },
      prune: { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
      alertname: { type: 'string' },
      k: { type: 'string', default: '5' },
      json: { type: 'boolean', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  const [sub, arg] = positionals;
  const client = new ServiceClient(
    config.serviceUrl,
    cliToken(config, { workspaces: [values.workspace], roles: ['knowledge-admin', 'sre'] }),
  );
  const ws = { 'X-Workspace': values.workspace };

  if (sub === 'search') {
    if (!arg) throw new CliError('usage: aiops knowledge search "QUERY" [--alertname NAME] [--k N]', 2);
    const q = new URLSearchParams({ q: arg, k: values.k, ...(values.alertname ? { alertname: values.alertname } : {}) });
    const res = await client.json<{
      backend: string;
      no_match: boolean;
      notes: string[];
      hits: { title: string; section: string; citation: string; snippet: string; match: string }[];
    }>('GET', `/v1/runbooks/search?${q}`, undefined, ws);
    if (values.json) return void process.stdout.write(`${JSON.stringify(res, null, 2)}\n`);
    for (const n of res.notes) process.stderr.write(`note: ${n}\n`);
    if (res.no_match) process.stderr.write('note: no_match: no runbook matches well enough to cite; these are weak matches\n');
    for (const h of res.hits)
      process.stdout.write(`${h.citation}\n  ${h.title} › ${h.section} (${h.match} match)\n  ${h.snippet.slice(0, 160)}\n`);
    return;
  }
  if (sub === 'list') {
    const res = await client.json<{ documents: { path: string; updated_at: string; updated_by: string }[] }>(
      'GET',
      '/v1/knowledge/documents',
      undefined,
      ws,
    );
    for (const d of res.documents) process.stdout.write(`${d.path}\t${d.updated_at}\t${d.updated_by}\n`);
    const status = await client.json<{ runbooks: number }>('GET', '/v1/knowledge', undefined, ws);
    process.stderr.write(
      `${res.documents.length} documents in workspace ${values.workspace}; the ${status.runbooks} built-in runbooks are shared by every workspace and not listed\n`,
    );
    return;
  }
  if (sub !== 'index' || !arg)
    throw new CliError('usage: aiops knowledge index FOLDER [--workspace W] [--prefix P] [--prune] [--dry-run] | search "QUERY" | list', 2);

  const folder = path.resolve(arg);
  if (!statSync(folder, { throwIfNoEntry: false })?.isDirectory()) throw new CliError(`${arg} is not a folder`, 2);
  const prefix = (values.prefix ?? path.basename(folder)).replace(/^\/+|\/+$/g, '');
  const files = markdownFiles(folder);
  if (files.length === 0) throw new CliError(`no markdown files (*.md) under ${arg}`, 2);
  const docs: { path: string; markdown: string }[] = [];
  const problems: string[] = [];
  for (const file of files) {
    const rel = path.relative(folder, file).split(path.sep).join('/');
    const docPath = prefix ? `${prefix}/${rel}` : rel;
    const markdown = readFileSync(file, 'utf8');
    const checked = DocumentPath.safeParse(docPath);
    if (!checked.success) problems.push(`${rel}: the path ${docPath} is not accepted (${checked.error.issues[0]!.message})`);
    else if (Buffer.byteLength(markdown) > MAX_DOCUMENT_BYTES) problems.push(`${rel}: larger than ${MAX_DOCUMENT_BYTES / 1024} KiB`);
    else if (!markdown.trim()) problems.push(`${rel}: empty`);
    else {
      try {
        chunkMarkdown(docPath, markdown, { source: 'document', maxChars: 1800 });
        docs.push({ path: docPath, markdown });
      } catch (err) {
        if (!(err instanceof DocumentError)) throw err;
        problems.push(`${rel}: ${err.reason}`);
      }
    }
  }
  if (problems.length) throw new CliError(`nothing was sent; fix these files first:\n${problems.map((p) => `  ${p}`).join('\n')}`, 2);
  if (values['dry-run']) {
    for (const d of docs) process.stdout.write(`would send ${d.path}\n`);
    return;
  }
  const changes: Change[] = [];
  const notes = new Set<string>();
  for (const batch of batches(docs, Math.max(64 * 1024, config.AIOPS_MAX_BODY_BYTES - 4096))) {
    const res = await client.json<{ changes: Change[]; notes: string[] }>('POST', '/v1/knowledge/documents', { documents: batch }, ws);
    changes.push(...res.changes);
    for (const n of res.notes) notes.add(n);
  }
  if (values.prune) {
    const listed = await client.json<{ documents: { path: string }[] }>('GET', '/v1/knowledge/documents', undefined, ws);
    const sent = new Set(docs.map((d) => d.path));
    for (const d of listed.documents.filter((x) => x.path.startsWith(`${prefix}/`) && !sent.has(x.path))) {
      await client.json('DELETE', `/v1/knowledge/documents/${d.path.split('/').map(encodeURIComponent).join('/')}`, undefined, ws);
      changes.push({ path: d.path, status: 'deleted', sections: 0 });
    }
  }
  if (values.json)
    return void process.stdout.write(`${JSON.stringify({ workspace: values.workspace, changes, notes: [...notes] }, null, 2)}\n`);
  for (const c of changes) process.stdout.write(`${c.status.padEnd(9)} ${c.path}${c.sections ? ` (${c.sections} sections)` : ''}\n`);
  const count = (s: string) => changes.filter((c) => c.status === s).length;
  process.stderr.write(
    `${docs.length} documents in workspace ${values.workspace}: ${count('added')} added, ${count('updated')} updated, ${count('unchanged')} unchanged${count('skipped') ? `, ${count('skipped')} skipped (copies of built-in runbooks)` : ''}${values.prune ? `, ${count('deleted')} deleted` : ''}\n`,
  );
  for (const n of notes) process.stderr.write(`note: ${n}\n`);
}
