import fs from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { fieldPath } from '../core/problem.ts';
import { POLICY_SEGMENTS, type Policies, type PolicySegment } from './schema.ts';

export class PolicyError extends Error {
  constructor(
    readonly file: string,
    readonly field: string,
    detail: string,
  ) {
    super(`${file}: ${field}: ${detail}`);
    this.name = 'PolicyError';
  }
}

/**
 * Reads policies/<segment>.yaml for every segment and validates it. A segment
 * whose file is absent takes its defaults; a file that does not validate stops
 * the start with the file and field named.
 */
export function loadPolicies(dir: string): Policies {
  const out: Partial<Record<PolicySegment, unknown>> = {};
  for (const [segment, schema] of Object.entries(POLICY_SEGMENTS) as [PolicySegment, (typeof POLICY_SEGMENTS)[PolicySegment]][]) {
    const file = path.join(dir, `${segment}.yaml`);
    const shown = path.relative(process.cwd(), file) || file;
    let raw: unknown = {};
    if (fs.existsSync(file)) {
      const doc = parseDocument(fs.readFileSync(file, 'utf8'));
      if (doc.errors.length > 0) {
        const e = doc.errors[0]!;
        const line = e.linePos?.[0]?.line;
        throw new PolicyError(shown, line ? `line ${line}` : '(file)', e.message.split('\n')[0]!);
      }
      raw = doc.toJS() ?? {};
    }
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new PolicyError(shown, fieldPath(issue.path), issue.message);
    }
    out[segment] = parsed.data;
  }
  return out as Policies;
}
