import { AsyncLocalStorage } from 'node:async_hooks';
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

/** What the current turn chose: its thread (for a sticky split) and versions an eval run asked for. */
export interface PromptChoice {
  threadId?: string;
  /** Prompt id → version, overriding policy and split (eval runs). */
  versions?: Record<string, number>;
  /** A model name chosen for the turn (eval runs). */
  model?: string;
}

const choices = new AsyncLocalStorage<PromptChoice>();

/** Runs fn with a prompt choice in effect (merged over any outer one): every `get` inside sees it. */
export function withPromptChoice<T>(choice: PromptChoice, fn: () => T): T {
  const outer = choices.getStore();
  return choices.run({ ...outer, ...choice, versions: { ...outer?.versions, ...choice.versions } }, fn);
}

/** The choice in effect, if any. */
export const currentPromptChoice = (): PromptChoice | undefined => choices.getStore();

/**
 * The version a thread draws from weighted versions: the first 32 bits of sha256(prompt id and
 * thread id) as a point in [0, 1), against the cumulative weights in version order. Same thread, same
 * version; over many threads, shares follow the weights.
 */
export function splitVersion(promptId: string, threadId: string, weights: Record<string, number>): number {
  const entries = Object.entries(weights)
    .map(([v, w]) => [Number(v), w] as const)
    .filter(([, w]) => w > 0)
    .sort((a, b) => a[0] - b[0]);
  const total = entries.reduce((s, [, w]) => s + w, 0);
  const point = (parseInt(createHash('sha256').update(`${promptId}\u0000${threadId}`).digest('hex').slice(0, 8), 16) / 2 ** 32) * total;
  let acc = 0;
  for (const [v, w] of entries) {
    acc += w;
    if (point < acc) return v;
  }
  return entries.at(-1)![0];
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
    private readonly splits: Record<string, Record<string, number>> = {},
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
    for (const [id, weights] of Object.entries(splits)) {
      for (const version of Object.keys(weights)) {
        if (!this.prompts.has(`${id}@${version}`)) {
          throw new PromptError(dir, `policies/llm.yaml splits traffic of ${id} to version ${version}, but there is no such prompt file`);
        }
      }
    }
  }

  /** Whether a prompt has this version. */
  has(id: string, version: number): boolean {
    return this.prompts.has(`${id}@${version}`);
  }

  /**
   * The version to use now: one an eval run chose for the turn; else the policy's split, drawn by
   * the turn's thread; else the active version (policy), else the highest.
   */
  get(id: string): Prompt {
    const choice = choices.getStore();
    const chosen = choice?.versions?.[id];
    const split = this.splits[id];
    const version =
      chosen ??
      (split && choice?.threadId ? splitVersion(id, choice.threadId, split) : undefined) ??
      this.active[id] ??
      Math.max(0, ...[...this.prompts.values()].filter((p) => p.id === id).map((p) => p.version));
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
