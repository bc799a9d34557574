import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';

const FrontMatter = z
  .object({
    id: z.string().regex(/^[a-z][a-z0-9_-]*$/, 'expected a lower-case id'),
    version: z.number().int().positive(),
    description: z.string().min(1),
    variables: z.array(z.string().regex(/^[a-z_]+$/)).default([]),
  })
  .strict();

export interface Prompt {
  id: string;
  version: number;
  description: string;
  variables: string[];
  system: string;
  user: string;
  /** sha256 of the file, first 12 hex characters: which exact text produced an answer. */
  hash: string;
  file: string;
}

export interface PromptRef {
  id: string;
  version: number;
  hash: string;
}

export class PromptError extends Error {
  constructor(file: string, detail: string) {
    super(`${file}: ${detail}`);
    this.name = 'PromptError';
  }
}

/**
 * Prompts live in prompts/<id>.v<version>.md: YAML front matter, then a
 * "# System" and a "# User" part with {{variable}} placeholders. All are
 * loaded and checked at start; the active version of each comes from policy.
 */
export class PromptRegistry {
  private readonly prompts = new Map<string, Prompt>();

  constructor(
    dir: string,
    private readonly active: Record<string, number>,
  ) {
    for (const name of fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.md'))
      .sort()) {
      const file = path.join(dir, name);
      const p = parsePrompt(file, fs.readFileSync(file, 'utf8'));
      const key = `${p.id}@${p.version}`;
      if (this.prompts.has(key)) throw new PromptError(file, `a second file for ${p.id} version ${p.version}`);
      this.prompts.set(key, p);
    }
    for (const [id, version] of Object.entries(active)) {
      if (!this.prompts.has(`${id}@${version}`)) {
        throw new PromptError(dir, `policies/llm.yaml makes ${id} version ${version} active, but there is no such prompt file`);
      }
    }
  }

  /** The active version of a prompt (policy), else its highest version. */
  get(id: string): Prompt {
    const version = this.active[id] ?? Math.max(0, ...[...this.prompts.values()].filter((p) => p.id === id).map((p) => p.version));
    const p = this.prompts.get(`${id}@${version}`);
    if (!p) throw new Error(`no prompt ${id}`);
    return p;
  }

  list(): Prompt[] {
    return [...this.prompts.values()];
  }
}

function parsePrompt(file: string, text: string): Prompt {
  const m = /^---\n([\s\S]*?)\n---\n([\s\S]*)$/.exec(text.replace(/\r\n/g, '\n'));
  if (!m) throw new PromptError(file, 'expected YAML front matter between --- lines');
  const front = FrontMatter.safeParse(parse(m[1]!));
  if (!front.success) {
    const i = front.error.issues[0]!;
    throw new PromptError(file, `${i.path.join('.') || 'front matter'}: ${i.message}`);
  }
  const body = m[2]!;
  const parts = /^# System\n([\s\S]*?)\n# User\n([\s\S]*)$/m.exec(body.trim());
  if (!parts) throw new PromptError(file, 'expected a "# System" part followed by a "# User" part');
  const used = new Set([...body.matchAll(/\{\{(\w+)\}\}/g)].map((x) => x[1]!));
  const declared = new Set(front.data.variables);
  for (const v of used) if (!declared.has(v)) throw new PromptError(file, `uses {{${v}}} but does not declare it in variables`);
  for (const v of declared) if (!used.has(v)) throw new PromptError(file, `declares ${v} but never uses it`);
  const base = path.basename(file);
  if (base !== `${front.data.id}.v${front.data.version}.md`) {
    throw new PromptError(file, `the file name should be ${front.data.id}.v${front.data.version}.md`);
  }
  return {
    ...front.data,
    system: parts[1]!.trim(),
    user: parts[2]!.trim(),
    hash: createHash('sha256').update(text).digest('hex').slice(0, 12),
    file,
  };
}

/** Fills {{variables}}; a missing one is a programming error, not an empty string. */
export function render(p: Prompt, values: Record<string, string>): { system: string; user: string } {
  const fill = (t: string) =>
    t.replace(/\{\{(\w+)\}\}/g, (_, k: string) => {
      if (!(k in values)) throw new Error(`prompt ${p.id} v${p.version} needs ${k}`);
      return values[k]!;
    });
  return { system: fill(p.system), user: fill(p.user) };
}

export const refOf = (p: Prompt): PromptRef => ({ id: p.id, version: p.version, hash: p.hash });
