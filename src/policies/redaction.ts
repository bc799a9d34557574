import type { Policies } from './schema.ts';

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

/**
 * Evidence as it may be stored in a thread or returned in an answer: its
 * text (summary, examples, attribute values) redacted. Numbers, ids and
 * windows stay; ClickHouse keeps the raw lines.
 */
export function redactEvidence<E extends { summary: string; examples?: string[]; attributes: Record<string, string> }>(
  items: E[],
  redactor: Redactor,
): E[] {
  return items.map((e) => ({
    ...e,
    summary: redactor.redact(e.summary),
    attributes: Object.fromEntries(Object.entries(e.attributes).map(([k, v]) => [k, redactor.redact(v)])),
    ...(e.examples ? { examples: e.examples.map((x) => redactor.redact(x)) } : {}),
  }));
}

/**
 * Text in telemetry that speaks to an assistant rather than about the
 * system: "ignore previous instructions", a "system notice to the AI",
 * "approve it yourself". Such lines are data that someone planted; answers
 * say that one was withheld instead of repeating it.
 */
const INSTRUCTIONS = [
  /\b(?:ignore|disregard|forget|override)\s+(?:all\s+|any\s+)?(?:the\s+)?(?:previous|prior|above|earlier|your)\s+(?:instructions|prompts?|rules|guidelines)\b/i,
  /\b(?:system|developer|admin(?:istrator)?)\s+(?:notice|prompt|message|instructions?|override)\b[^\n]{0,80}\b(?:ai|assistant|model|llm|agent|bot)\b/i,
  /\bto\s+(?:the\s+)?(?:ai|assistant|language\s+model|llm|agent|bot)\b\s*[:,-]/i,
  /\b(?:approve|execute|run)\s+(?:it|this|them)\s+yourself\b/i,
  /\byou\s+are\s+now\s+(?:a|an|in)\b/i,
];

export function looksLikeInstructions(text: string): boolean {
  return INSTRUCTIONS.some((re) => re.test(text));
}
