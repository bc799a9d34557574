import type { Policies } from '../policies/schema.ts';

/** Redacts secrets, tokens, emails and the like (policies/privacy.yaml) from text bound for a prompt. */
export class Redactor {
  private readonly rules: { name: string; re: RegExp; replacement: string }[];
  /** How many replacements each rule made (for the wide event and tests). */
  readonly counts = new Map<string, number>();

  constructor(policy: Policies['privacy']) {
    this.rules = policy.redact.map((r) => ({ name: r.name, re: new RegExp(r.pattern, 'g'), replacement: r.replacement }));
  }

  redact(text: string): string {
    let out = text;
    for (const r of this.rules) {
      out = out.replace(r.re, () => {
        this.counts.set(r.name, (this.counts.get(r.name) ?? 0) + 1);
        return r.replacement;
      });
    }
    return out;
  }
}
