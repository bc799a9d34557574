import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CaseError, loadCases, windowEnd } from '../src/evals/case.ts';
import { parseVariants, shiftOtlp } from '../src/evals/engine.ts';
import { type AnswerLike, claims, scoreCase, statedNumbers, supportedNumber } from '../src/evals/score.ts';

function suite(files: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'evals-'));
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), text);
  }
  return root;
}

const good = `
description: why payments fail after a deploy
tags: [intent:rca, scenario:payment-bad-deploy]
input: { message: "why are payments failing?" }
telemetry: { scenario: payment-bad-deploy, seed: 11, length: 2h, end: -5m }
expect:
  root_cause: { service: payment }
  facts:
    - text: "2.5.0"
    - { number: error rate, near: "fail|error", tolerance: 0.1 }
  forbidden: { services: [etl] }
  tools: { match: superset, names: [service_overview] }
`;

describe('eval cases', () => {
  it('load from evals/<suite>/<case>/case.yaml, validated, with defaults and filters', () => {
    const root = suite({
      'rca/pay/case.yaml': good,
      'rca/other/case.yaml': good.replace('intent:rca', 'intent:other'),
      'results/x/case.yaml': 'junk',
    });
    const cases = loadCases(root);
    expect(cases.map((c) => c.id)).toEqual(['rca/other', 'rca/pay']);
    const c = cases[1]!;
    expect(c.roles).toEqual(['sre']);
    expect(c.expect.forbidden.claims).toEqual([]);
    expect(c.telemetry).toMatchObject({ scenario: 'payment-bad-deploy', seed: 11, length: '2h', end: '-5m' });
    expect(windowEnd(c, 10 * 60_000)).toBe(5 * 60_000);
    expect(loadCases(root, { tag: 'intent:rca' }).map((x) => x.id)).toEqual(['rca/pay']);
    expect(loadCases(root, { caseId: 'rca/other' }).map((x) => x.id)).toEqual(['rca/other']);
    expect(loadCases(root, { suite: 'questions' })).toEqual([]);
  });

  it('a broken case file is an error naming the file and the field', () => {
    const bad = (text: string) => {
      const root = suite({ 'rca/broken/case.yaml': text });
      try {
        loadCases(root);
      } catch (err) {
        expect(err).toBeInstanceOf(CaseError);
        return { message: (err as CaseError).message, field: (err as CaseError).field, file: (err as CaseError).file };
      }
      throw new Error('loaded a broken case');
    };
    const wrongEnd = bad(good.replace('end: -5m', 'end: 5m'));
    expect(wrongEnd.file).toMatch(/rca\/broken\/case\.yaml$/);
    expect(wrongEnd.field).toBe('telemetry.end');
    expect(bad(good.replace('seed: 11', 'seed: eleven')).field).toBe('telemetry.seed');
    expect(bad(good.replace('description: why', 'descripton: why')).message).toMatch(/descripton|description/);
    expect(bad(good.replace('input: { message: "why are payments failing?" }', 'input: {}')).field).toBe('input');
    // A briefing case asks no question: a message beside it is refused, a period alone loads.
    expect(
      bad(good.replace('input: { message: "why are payments failing?" }', 'input: { message: "hi", briefing: { period: 1h } }')).message,
    ).toMatch(/exactly one of message, alert or briefing/);
    const briefing = loadCases(
      suite({ 'b/one/case.yaml': good.replace('input: { message: "why are payments failing?" }', 'input: { briefing: {} }') }),
    );
    expect(briefing[0]!.input.briefing).toEqual({ period: '1h' });
    expect(bad(good.replace('near: "fail|error"', 'near: "fail|("')).field).toBe('expect.facts');
    expect(bad(good.replace('telemetry: {', 'telemetry: { otlp: missing.json,')).field).toBe('telemetry.otlp');
    expect(bad('a: [').message).toMatch(/not valid YAML/);
    expect(bad(good.replace('tags: [intent:rca', 'tags: [Intent RCA')).field).toBe('tags.0');
  });

  it('variants from --prompt and --model: the cross of both, named by what differs', () => {
    expect(parseVariants()).toEqual([{ name: 'default', prompts: {} }]);
    expect(parseVariants('synthesize=1,2').map((v) => v.name)).toEqual(['synthesize@v1', 'synthesize@v2']);
    const cross = parseVariants('synthesize=v1,v2', 'a,b');
    expect(cross.map((v) => v.name)).toEqual(['synthesize@v1 a', 'synthesize@v1 b', 'synthesize@v2 a', 'synthesize@v2 b']);
    expect(cross[3]).toEqual({ name: 'synthesize@v2 b', prompts: { synthesize: 2 }, model: 'b' });
    expect(() => parseVariants('synthesize')).toThrow(/id=version/);
  });

  it('moves an OTLP fixture so its latest record lands at the end of the window', () => {
    const body = {
      resourceLogs: [
        { scopeLogs: [{ logRecords: [{ timeUnixNano: '1000000000' }, { timeUnixNano: '3000000000', observedTimeUnixNano: '0' }] }] },
      ],
    };
    const shifted = shiftOtlp(body, 10_000) as typeof body;
    const recs = shifted.resourceLogs[0]!.scopeLogs[0]!.logRecords as { timeUnixNano: string; observedTimeUnixNano?: string }[];
    expect(recs.map((r) => r.timeUnixNano)).toEqual(['8000000000', '10000000000']);
    expect(recs[1]!.observedTimeUnixNano).toBe('0');
  });
});

describe('eval scoring', () => {
  it('reads the numbers an answer states, not times, dates, versions, ids or names', () => {
    expect(
      statedNumbers('payment 2.5.0 fails 34% of charges since 14:32 [sre-3, sre-4]; pod cart-7d9f restarted 12 times on 2026-11-22'),
    ).toEqual(['34', '12']);
    expect(statedNumbers('p95 rose to 1,250 ms (0.41 s before)')).toEqual(['1,250', '0.41']);
    expect(statedNumbers('approval 54a207c9-4618-4e9a-8796-1d51a450c960 in eval-00e7f51a52; 250ms')).toEqual(['250']);
  });

  it('claims are what the answer states before its advice and proposed actions', () => {
    const text = 'payment fails 34% [so2].\n\nNext steps:\n- Lower requests to 0.25 CPU.\n\nProposed action: set cpu to 1000m.';
    expect(claims(text)).toBe('payment fails 34% [so2].\n\n');
    expect(statedNumbers(claims(text))).toEqual(['34']);
    expect(claims('no advice here')).toBe('no advice here');
  });

  it('a number is supported by the evidence as a value, a percentage, or rounded as written', () => {
    expect(supportedNumber('34', [0.3412])).toBe(true);
    expect(supportedNumber('34.1', [0.3412])).toBe(true);
    expect(supportedNumber('1,250', [1251])).toBe(true);
    expect(supportedNumber('57', [0.3412, 1251])).toBe(false);
    expect(supportedNumber('2', [])).toBe(true);
  });

  it('scores each expectation: root cause rank, facts, forbidden names, tools, unsupported numbers', () => {
    const root = suite({ 'rca/pay/case.yaml': good });
    const c = loadCases(root)[0]!;
    const evidence = [
      {
        id: 'sre-1',
        tool: 'service_overview',
        kind: 'errors',
        summary: 'payment error rate 34.1% (baseline 0.2%)',
        service: 'payment',
        numbers: { error_rate: 0.341 },
        attributes: {},
        window: { from: '2026-11-22T05:00:00Z', to: '2026-11-22T06:00:00Z' },
        query_id: 'q1',
      },
    ];
    const answer: AnswerLike = {
      answer: 'payment 2.5.0 fails: the error rate is 34% [sre-1].',
      thread_id: 't',
      hypotheses: [
        { service: 'payment', kind: 'bad_deploy', score: 0.9, evidence_ids: ['sre-1'], summary: '', agent: 'sre' },
        { service: 'checkout', kind: 'errors', score: 0.4, evidence_ids: [], summary: '', agent: 'sre' },
      ],
      evidence_ids: ['sre-1'],
      agents: ['sre'],
      path: 'deterministic',
      model: null,
      prompts: [],
      tracking_id: 'x',
      usage: { llm_calls: 0, prompt_tokens: 0, completion_tokens: 0 },
      approvals: [],
      refused_actions: [],
    };
    const ctx = {
      variant: 'default',
      repeat: 0,
      workspace: 'eval-x',
      knownServices: ['payment', 'checkout', 'etl'],
      price: { prompt: 1, completion: 2 },
    };
    const observed = {
      answer,
      evidence,
      tools: ['service_overview', 'recent_changes'],
      asked: ['why are payments failing?'],
      latencyMs: 12,
    };
    const ok = scoreCase(c, observed, ctx);
    expect(ok.missed).toEqual([]);
    expect(ok).toMatchObject({ pass: true, rca_rank: 1, expects_fault: true, abstained: false });

    const invented = scoreCase(
      c,
      { ...observed, answer: { ...answer, answer: 'payment 2.5.0 fails: the error rate is 57% [sre-1]; etl is fine.' } },
      ctx,
    );
    expect(invented.pass).toBe(false);
    expect(invented.unsupported.numbers).toEqual(['57']);
    expect(invented.unsupported.services).toEqual(['etl']);
    expect(invented.missed.join('\n')).toMatch(/must not name etl/);
    expect(invented.missed.join('\n')).toMatch(/number "error rate"/);

    const uncited = scoreCase(c, { ...observed, answer: { ...answer, answer: 'payment 2.5.0 fails: the error rate is 34%.' } }, ctx);
    expect(uncited.missed).toEqual(['cites evidence']);

    const wrongRoot = scoreCase(
      c,
      { ...observed, answer: { ...answer, hypotheses: [...answer.hypotheses].reverse().map((h, i) => ({ ...h, score: 1 - i / 10 })) } },
      ctx,
    );
    expect(wrongRoot.rca_rank).toBe(2);
    expect(wrongRoot.pass).toBe(false);

    const fewTools = scoreCase(c, { ...observed, tools: ['recent_changes'] }, ctx);
    expect(fewTools.missed[0]).toMatch(/^tools \(superset\) service_overview: ran: recent_changes/);
  });
});
