import type { MiddlewareHandler } from 'hono';
import { problems } from '../../core/problem.ts';
import { hasRole } from '../../core/scope.ts';
import { type PromptRegistry, withPromptChoice } from '../../prompts/registry.ts';
import type { AppEnv } from '../env.ts';

/**
 * X-Eval-Prompts (`synthesize=1,route=1`) and X-Eval-Model (a model name) choose the prompt versions
 * and the model of what the request runs (a chat turn, an alert investigation), for tokens with the
 * eval role only: eval runs compare variants on live code without changing the policy.
 */
export function evalChoice(prompts: PromptRegistry, modelAvailable: boolean): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const promptHeader = c.req.header('x-eval-prompts');
    const model = c.req.header('x-eval-model')?.trim();
    if (promptHeader === undefined && !model) return next();
    const principal = c.get('principal');
    if (!principal || !hasRole(principal, 'eval')) throw problems.forbidden('X-Eval-Prompts and X-Eval-Model need the role "eval"');
    const versions: Record<string, number> = {};
    for (const part of (promptHeader ?? '').split(',').filter((p) => p.trim())) {
      const m = /^\s*([a-z][a-z0-9_-]*)=v?(\d+)\s*$/.exec(part);
      if (!m)
        throw problems.validation('X-Eval-Prompts is not a list of id=version', [
          { field: 'X-Eval-Prompts', message: `"${part}" is not id=version` },
        ]);
      const [, id, version] = m;
      if (!prompts.has(id!, Number(version))) {
        throw problems.validation('X-Eval-Prompts names a prompt version that does not exist', [
          { field: 'X-Eval-Prompts', message: `no prompt ${id} version ${version}` },
        ]);
      }
      versions[id!] = Number(version);
    }
    if (model && !modelAvailable)
      throw problems.conflict('X-Eval-Model needs a model service (OLLAMA_URL); this service answers without a model');
    if (model !== undefined && !/^[\w.:/-]{1,100}$/.test(model)) {
      throw problems.validation('X-Eval-Model is not a model name', [
        { field: 'X-Eval-Model', message: 'expected a model name such as qwen2.5:3b' },
      ]);
    }
    return withPromptChoice({ versions, ...(model ? { model } : {}) }, () => next());
  };
}
