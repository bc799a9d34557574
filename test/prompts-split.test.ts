import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPolicies } from '../src/policies/load.ts';
import { PromptError, PromptRegistry, currentPromptChoice, splitVersion, withPromptChoice } from '../src/prompts/registry.ts';
import { policiesWith } from './helpers/fake-model.ts';
import { tempDir } from './helpers/service.ts';

/** The project's prompts plus synthesize v3 (a copy of v2), so a split has three versions to draw from. */
function promptsWithV3(): string {
  const dir = tempDir('aiops-prompts-');
  for (const f of fs.readdirSync('prompts')) fs.copyFileSync(path.join('prompts', f), path.join(dir, f));
  fs.writeFileSync(
    path.join(dir, 'synthesize.v3.md'),
    fs.readFileSync('prompts/synthesize.v2.md', 'utf8').replace('version: 2', 'version: 3'),
  );
  return dir;
}

const threads = Array.from({ length: 4000 }, (_, i) => `thread-${i}`);

describe('prompt versions in production', () => {
  it('a split draws a version per thread by weight, and a thread keeps its version', () => {
    const weights = { 1: 10, 2: 90 };
    const drawn = threads.map((t) => splitVersion('synthesize', t, weights));
    expect(threads.map((t) => splitVersion('synthesize', t, weights))).toEqual(drawn);
    const share = drawn.filter((v) => v === 1).length / threads.length;
    expect(share).toBeGreaterThan(0.08);
    expect(share).toBeLessThan(0.12);
    // A zero weight is never drawn; another prompt draws independently.
    expect(new Set(threads.map((t) => splitVersion('synthesize', t, { 1: 0, 2: 5 })))).toEqual(new Set([2]));
    const route = threads.map((t) => splitVersion('route', t, weights));
    expect(route).not.toEqual(drawn);
  });

  it('the registry uses the split inside a turn, the active version outside, and an eval choice over both', () => {
    const registry = new PromptRegistry(promptsWithV3(), { route: 1, synthesize: 2 }, { synthesize: { 1: 1, 2: 1, 3: 2 } });
    expect(registry.get('synthesize').version).toBe(2);
    const seen = new Map<number, number>();
    for (const t of threads.slice(0, 1000)) {
      const v = withPromptChoice({ threadId: t }, () => registry.get('synthesize').version);
      expect(withPromptChoice({ threadId: t }, () => registry.get('synthesize').version)).toBe(v);
      expect(v).toBe(splitVersion('synthesize', t, { 1: 1, 2: 1, 3: 2 }));
      seen.set(v, (seen.get(v) ?? 0) + 1);
    }
    expect([...seen.keys()].sort()).toEqual([1, 2, 3]);
    expect(seen.get(3)! / 1000).toBeGreaterThan(0.42);
    expect(seen.get(3)! / 1000).toBeLessThan(0.58);
    // Prompts without a split keep the active version in a turn.
    expect(withPromptChoice({ threadId: 'thread-1' }, () => registry.get('route').version)).toBe(1);
    // An eval run's choice wins over the split, and an inner choice merges with the outer one.
    const chosen = withPromptChoice({ versions: { synthesize: 1 } }, () =>
      withPromptChoice({ threadId: 'thread-7' }, () => [registry.get('synthesize').version, currentPromptChoice()?.threadId]),
    );
    expect(chosen).toEqual([1, 'thread-7']);
    // Async work inside the turn sees the same choice.
    return withPromptChoice({ threadId: 'thread-9' }, async () => {
      await new Promise((r) => setTimeout(r, 5));
      expect(registry.get('synthesize').version).toBe(splitVersion('synthesize', 'thread-9', { 1: 1, 2: 1, 3: 2 }));
    });
  });

  it('a split naming a version without a prompt file stops the start, naming it', () => {
    expect(() => new PromptRegistry('prompts', { synthesize: 2 }, { synthesize: { 2: 1, 7: 1 } })).toThrow(PromptError);
    expect(() => new PromptRegistry('prompts', { synthesize: 2 }, { synthesize: { 2: 1, 7: 1 } })).toThrow(/synthesize to version 7/);
  });

  it('llm.yaml takes prompt_splits (weights per version) and refuses a bad one naming the field', () => {
    const ok = loadPolicies(policiesWith({ 'llm.yaml': 'prompts: { synthesize: 2 }\nprompt_splits: { synthesize: { 1: 20, 2: 80 } }\n' }));
    expect(ok.llm.prompt_splits).toEqual({ synthesize: { 1: 20, 2: 80 } });
    expect(loadPolicies('policies').llm.prompt_splits).toEqual({});
    expect(() => loadPolicies(policiesWith({ 'llm.yaml': 'prompt_splits: { synthesize: { 1: 0, 2: 0 } }\n' }))).toThrow(
      /prompt_splits\.synthesize/,
    );
    expect(() => loadPolicies(policiesWith({ 'llm.yaml': 'prompt_splits: { synthesize: { v1: 1 } }\n' }))).toThrow(/prompt_splits/);
  });
});
