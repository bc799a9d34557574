import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';

export const FrontMatter = z
  .object({
    title: z.string().min(1).optional(),
    alerts: z.array(z.string()).default([]),
    services: z.array(z.string()).default([]),
    tags: z.array(z.string()).default([]),
  })
  .passthrough();

/** A document that cannot be indexed, with the reason. */
export class DocumentError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
    /** Which field of the document is at fault. */
    readonly field: 'markdown' | 'path' = 'markdown',
  ) {
    super(`${path}: ${reason}`);
  }
}

/** A section of a document: what retrieval returns and answers cite. */
export interface Chunk {
  /** Stable: the document path and the section anchor (and a part number for long sections). */
  id: string;
  source: 'runbook' | 'document' | 'incident';
  /** `*` for knowledge every workspace shares; a workspace for incidents. */
  workspace: string;
  path: string;
  title: string;
  section: string;
  anchor: string;
  text: string;
  alerts: string[];
  services: string[];
  tags: string[];
  /** Content hash: re-indexing skips chunks that did not change. */
  hash: string;
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s-]/gu, '')
    .replace(/\s/g, '-');
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * Splits a markdown document at its headings: the text before the first
 * second-level heading is the overview; each `##` section (with its `###`
 * subsections) is a chunk, long ones split at paragraphs.
 */
export function chunkMarkdown(
  path: string,
  markdown: string,
  opts: { source: Chunk['source']; workspace?: string; maxChars: number },
): Chunk[] {
  const text = markdown.replace(/\r\n/g, '\n');
  let meta = FrontMatter.parse({});
  let body = text;
  const fm = /^---\n([\s\S]*?)\n---\n?/.exec(text);
  if (fm) {
    let raw: unknown;
    try {
      raw = parse(fm[1]!) ?? {};
    } catch (err) {
      throw new DocumentError(path, `the front matter is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
    }
    const parsed = FrontMatter.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new DocumentError(path, `front matter field "${issue.path.join('.') || '(root)'}": ${issue.message}`);
    }
    meta = parsed.data;
    body = text.slice(fm[0].length);
  }
  const h1 = /^#\s+(.+)$/m.exec(body);
  const title = meta.title ?? h1?.[1]?.trim() ?? path.replace(/^.*\//, '').replace(/\.md$/, '');
  const sections: { heading: string; lines: string[] }[] = [{ heading: h1?.[1]?.trim() ?? title, lines: [] }];
  let fenced = false;
  for (const line of body.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const m = fenced ? null : /^##\s+(.+?)\s*#*\s*$/.exec(line);
    if (m) sections.push({ heading: m[1]!.trim(), lines: [] });
    else if (fenced || !/^#\s/.test(line)) sections[sections.length - 1]!.lines.push(line);
  }
  const chunks: Chunk[] = [];
  const workspace = opts.workspace ?? '*';
  const seen = new Map<string, number>();
  for (const [i, s] of sections.entries()) {
    // Repeated headings get -1, -2, … as on GitHub, so every anchor is unique.
    const base = anchorOf(s.heading);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    const anchor = count ? `${base}-${count}` : base;
    const content = s.lines.join('\n').trim();
    if (!content) continue;
    const parts = splitLong(content, opts.maxChars);
    parts.forEach((part, n) => {
      const chunkText = `${s.heading}\n\n${part}`;
      chunks.push({
        id: sha(`${workspace}|${path}#${anchor}#${n}`).slice(0, 32),
        source: opts.source,
        workspace,
        path,
        title,
        section: i === 0 ? 'Overview' : s.heading,
        anchor,
        text: chunkText,
        alerts: meta.alerts,
        services: meta.services,
        tags: meta.tags,
        hash: sha(JSON.stringify([title, chunkText, meta.alerts, meta.services, meta.tags])).slice(0, 16),
      });
    });
  }
  return chunks;
}

function splitLong(text: string, max: number): string[] {
  if (text.length <= max) return [text];
  const out: string[] = [];
  let current = '';
  for (const para of text.split(/\n{2,}/)) {
    if (current && current.length + para.length + 2 > max) {
      out.push(current);
      current = '';
    }
    current = current ? `${current}\n\n${para}` : para;
  }
  if (current) out.push(current);
  return out;
}

/** Markdown files under a folder, recursively, sorted. */
export function markdownFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      if (name.startsWith('.')) continue;
      const full = join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (/\.(md|markdown)$/i.test(name)) out.push(full);
    }
  };
  walk(dir);
  return out;
}
