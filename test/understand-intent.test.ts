import { describe, expect, it } from 'vitest';
import { CONFIDENCE, classifyIntent, type Intent, type IntentContext, type IntentResult } from '../src/agents/understand/intent.ts';
import { findSubject } from '../src/agents/understand/subject.ts';
import { parseTime } from '../src/agents/understand/time.ts';

const services = ['checkout', 'payment', 'product-catalog', 'frontend', 'cart', 'shipping', 'currency'];
const now = Date.parse('2026-11-27T10:00:00Z');

/** Earlier turns. */
const ROOT_CAUSE_FOUND: IntentContext['previous'] = { intent: 'root_cause', subject: ['checkout'], hadRootCause: true };
const ROOT_CAUSE_NONE: IntentContext['previous'] = { intent: 'root_cause', subject: ['checkout'], hadRootCause: false };
const STATUS: IntentContext['previous'] = { intent: 'status', subject: ['checkout'], hadRootCause: false };
const RANKING: IntentContext['previous'] = { intent: 'ranking', subject: [], hadRootCause: false };

/** As understandQuestion() calls it: the names and the time of the question, and the earlier turn. */
function classify(q: string, previous?: IntentContext['previous']): IntentResult {
  const s = findSubject(q, { services });
  return classifyIntent(q, {
    ...(previous ? { previous } : {}),
    subjects: [...s.services, ...s.entities.map((e) => e.name)],
    hasTime: parseTime(q, now) !== undefined,
  });
}

interface Row {
  q: string;
  prev?: IntentContext['previous'];
  intent: Intent;
  confidence?: number;
  ranking?: IntentResult['ranking'];
  measure?: IntentResult['measure'];
  followup?: IntentResult['followup'];
}

const rows: Row[] = [
  // root cause
  { q: 'why is checkout slow in the last 2 hours?', intent: 'root_cause', confidence: CONFIDENCE.clear },
  { q: 'Why did payment fail at 05:11?', intent: 'root_cause' },
  { q: 'what caused the payment failures?', intent: 'root_cause' },
  { q: "what is wrong with checkout? it's failing", intent: 'root_cause' },
  { q: 'what happened to cart last night?', intent: 'root_cause' },
  { q: "what's the root cause of the checkout errors", intent: 'root_cause' },
  { q: 'did the deploy cause the errors?', intent: 'root_cause', confidence: CONFIDENCE.contested },
  { q: 'investigate the latency spike on frontend', intent: 'root_cause' },
  { q: "what's going on with checkout, it keeps timing out", intent: 'root_cause' },
  { q: 'why are there so many failed logins?', intent: 'root_cause', confidence: CONFIDENCE.contested },
  { q: 'checkout is failing since 04:30', intent: 'root_cause', confidence: CONFIDENCE.weak },
  { q: 'an incident started at 05:11', intent: 'root_cause', confidence: CONFIDENCE.weak },

  // status
  { q: 'is checkout slow in the last 2 hours?', intent: 'status', confidence: CONFIDENCE.clear },
  { q: 'is payment healthy?', intent: 'status' },
  { q: 'anything wrong?', intent: 'status' },
  { q: 'how is checkout doing', intent: 'status' },
  { q: 'are all services up?', intent: 'status' },
  { q: 'was cart down yesterday?', intent: 'status' },
  { q: 'is the error rate of payment high?', intent: 'status' },
  { q: 'any issues with shipping?', intent: 'status' },
  { q: 'is everything ok', intent: 'status' },
  { q: "what's going on with checkout?", intent: 'status', confidence: CONFIDENCE.weak },
  { q: 'checkout?', intent: 'status', confidence: CONFIDENCE.fallback },

  // ranking, with what is ranked
  {
    q: 'which service has the most errors?',
    intent: 'ranking',
    confidence: CONFIDENCE.clear,
    ranking: { by: 'errors', order: 'desc', of: 'service' },
  },
  { q: 'show me the slowest endpoints', intent: 'ranking', ranking: { by: 'latency', order: 'desc', of: 'endpoint' } },
  { q: 'top CPU consumers', intent: 'ranking', ranking: { by: 'cpu', order: 'desc' } },
  { q: 'noisiest logs', intent: 'ranking', ranking: { by: 'log_volume', order: 'desc', of: 'log_pattern' } },
  { q: 'top 5 endpoints by latency', intent: 'ranking', ranking: { by: 'latency', order: 'desc', of: 'endpoint', limit: 5 } },
  { q: 'which pods use the most memory?', intent: 'ranking', ranking: { by: 'memory', order: 'desc', of: 'pod' } },
  { q: 'busiest services', intent: 'ranking', ranking: { by: 'traffic', order: 'desc', of: 'service' } },
  { q: 'which endpoints are the fastest?', intent: 'ranking', ranking: { by: 'latency', order: 'asc', of: 'endpoint' } },
  { q: 'which service has the highest error rate?', intent: 'ranking', ranking: { by: 'error_rate', order: 'desc', of: 'service' } },
  { q: 'hosts with the fewest requests', intent: 'ranking', ranking: { by: 'traffic', order: 'asc', of: 'host' } },
  { q: 'which pods restart the most', intent: 'ranking', ranking: { by: 'restarts', order: 'desc', of: 'pod' } },
  { q: 'the 3 slowest operations of checkout', intent: 'ranking', ranking: { by: 'latency', order: 'desc', of: 'operation', limit: 3 } },

  // logs
  { q: 'show me the error lines of cart', intent: 'logs', confidence: CONFIDENCE.clear },
  { q: 'logs for payment', intent: 'logs' },
  { q: 'can you show me the logs of checkout from 14:00 to 14:30?', intent: 'logs' },
  { q: 'any stack traces in currency?', intent: 'logs' },
  { q: 'tail the frontend logs', intent: 'logs' },
  { q: 'show me the errors of shipping', intent: 'logs', confidence: CONFIDENCE.weak },

  // changes
  { q: 'what changed', intent: 'changes', confidence: CONFIDENCE.clear },
  { q: 'any deploys today?', intent: 'changes' },
  { q: 'did anything change in checkout since yesterday?', intent: 'changes' },
  { q: 'who deployed payment?', intent: 'changes' },
  { q: 'were there config changes last night?', intent: 'changes' },

  // figures, with the measure
  {
    q: 'how many requests did checkout get in the last hour?',
    intent: 'figures',
    confidence: CONFIDENCE.clear,
    measure: { kind: 'traffic', stat: 'count' },
  },
  { q: 'p95 of checkout', intent: 'figures', confidence: CONFIDENCE.weak, measure: { kind: 'latency', stat: 'p95' } },
  { q: 'error rate of payment', intent: 'figures', measure: { kind: 'error_rate' } },
  { q: "what's the average latency of cart?", intent: 'figures', measure: { kind: 'latency', stat: 'avg' } },
  { q: 'how many errors did shipping log today?', intent: 'figures', measure: { kind: 'errors', stat: 'count' } },
  { q: 'requests per second on frontend', intent: 'figures', measure: { kind: 'traffic', stat: 'rate' } },
  { q: 'how much memory does cart use?', intent: 'figures', measure: { kind: 'memory' } },

  // security
  { q: 'failed logins', intent: 'security', confidence: CONFIDENCE.clear },
  { q: 'are we under attack?', intent: 'security' },
  { q: 'any brute force attempts on frontend?', intent: 'security' },
  { q: 'how many failed logins today?', intent: 'security', confidence: CONFIDENCE.contested },
  { q: 'suspicious traffic from unknown IPs', intent: 'security' },

  // efficiency
  { q: 'where are we wasting resources?', intent: 'efficiency', confidence: CONFIDENCE.clear },
  { q: 'which services are over-provisioned?', intent: 'efficiency' },
  { q: 'how much does cart cost us?', intent: 'efficiency' },
  { q: 'idle pods in kube-system', intent: 'efficiency' },

  // compare
  { q: 'compare today with yesterday', intent: 'compare', confidence: CONFIDENCE.clear },
  { q: 'is it worse than last week?', intent: 'compare' },
  { q: 'this hour vs the previous one', intent: 'compare' },
  { q: 'how does the p95 of checkout compare to yesterday?', intent: 'compare', measure: { kind: 'latency', stat: 'p95' } },
  { q: 'are there more errors than usual?', intent: 'compare', measure: { kind: 'errors' } },

  // follow-ups, after an earlier turn
  {
    q: 'what should I do about it?',
    prev: ROOT_CAUSE_FOUND,
    intent: 'followup_action',
    confidence: CONFIDENCE.followup,
    followup: { subject: 'inherit' },
  },
  { q: 'how do I fix it', prev: ROOT_CAUSE_NONE, intent: 'followup_action', confidence: CONFIDENCE.thin, followup: { subject: 'inherit' } },
  { q: 'should we roll back?', prev: ROOT_CAUSE_FOUND, intent: 'followup_action', followup: { subject: 'inherit' } },
  { q: 'how do I fix payment?', prev: ROOT_CAUSE_FOUND, intent: 'root_cause', followup: { subject: 'swap' } },
  {
    q: 'show me the logs for that',
    prev: ROOT_CAUSE_FOUND,
    intent: 'followup_logs',
    confidence: CONFIDENCE.followup,
    followup: { subject: 'inherit' },
  },
  { q: 'and the logs?', prev: STATUS, intent: 'followup_logs', followup: { subject: 'inherit' } },
  { q: 'logs for payment', prev: STATUS, intent: 'logs' },
  {
    q: 'why do you think so?',
    prev: ROOT_CAUSE_FOUND,
    intent: 'followup_explain',
    confidence: CONFIDENCE.followup,
    followup: { subject: 'inherit' },
  },
  { q: 'what is the evidence?', prev: ROOT_CAUSE_FOUND, intent: 'followup_explain', followup: { subject: 'inherit' } },
  { q: 'are you sure?', prev: ROOT_CAUSE_FOUND, intent: 'followup_explain', followup: { subject: 'inherit' } },
  { q: 'why?', prev: ROOT_CAUSE_FOUND, intent: 'followup_explain', followup: { subject: 'inherit' } },
  // "why?" after a status answer asks for the cause of what it reported
  { q: 'why?', prev: STATUS, intent: 'root_cause', confidence: CONFIDENCE.thin, followup: { subject: 'inherit' } },
  {
    q: 'and shipping?',
    prev: STATUS,
    intent: 'followup_subject',
    confidence: CONFIDENCE.followup,
    followup: { subject: 'swap', runAs: 'status' },
  },
  { q: 'what about cart?', prev: ROOT_CAUSE_FOUND, intent: 'followup_subject', followup: { subject: 'swap', runAs: 'root_cause' } },
  { q: 'same for payment', prev: RANKING, intent: 'followup_subject', followup: { subject: 'swap', runAs: 'ranking' } },
  { q: 'and yesterday?', prev: STATUS, intent: 'followup_subject', followup: { subject: 'inherit', runAs: 'status' } },
  { q: 'payment?', prev: ROOT_CAUSE_FOUND, intent: 'followup_subject', followup: { subject: 'swap', runAs: 'root_cause' } },
  // a full question after an earlier turn is a fresh question
  {
    q: 'which service has the most errors?',
    prev: ROOT_CAUSE_FOUND,
    intent: 'ranking',
    ranking: { by: 'errors', order: 'desc', of: 'service' },
  },
  { q: 'is cart healthy?', prev: ROOT_CAUSE_FOUND, intent: 'status' },
  { q: 'what about the slowest endpoints?', prev: STATUS, intent: 'ranking', ranking: { by: 'latency', order: 'desc', of: 'endpoint' } },

  // follow-up forms with no earlier turn
  { q: 'what should I do about it?', intent: 'unknown', confidence: CONFIDENCE.orphan },
  { q: 'how do I fix checkout?', intent: 'root_cause', confidence: CONFIDENCE.weak },
  { q: 'why do you think so?', intent: 'unknown', confidence: CONFIDENCE.orphan },
  { q: 'why?', intent: 'unknown', confidence: CONFIDENCE.orphan },
  { q: 'show me the logs for that', intent: 'logs', confidence: CONFIDENCE.orphan },
  { q: 'and shipping?', intent: 'status', confidence: CONFIDENCE.fallback },

  // nothing to go on
  { q: 'hello', intent: 'unknown', confidence: CONFIDENCE.unknown },
  { q: 'what can you do?', intent: 'unknown' },
  { q: 'will checkout run out of memory?', intent: 'unknown' },
  { q: 'thanks!', intent: 'unknown' },
];

describe('classifyIntent', () => {
  it('has a table of at least 60 questions covering every intent', () => {
    expect(rows.length).toBeGreaterThanOrEqual(60);
    const covered = new Set(rows.map((r) => r.intent));
    expect([...covered].sort()).toEqual(
      [
        'changes',
        'compare',
        'efficiency',
        'figures',
        'followup_action',
        'followup_explain',
        'followup_logs',
        'followup_subject',
        'logs',
        'ranking',
        'root_cause',
        'security',
        'status',
        'unknown',
      ].sort(),
    );
  });

  it.each(rows)('$q → $intent', (row) => {
    const r = classify(row.q, row.prev);
    expect(r.intent).toBe(row.intent);
    if (row.confidence !== undefined) expect(r.confidence).toBe(row.confidence);
    expect(r.ranking).toEqual(row.ranking);
    if (row.measure) expect(r.measure).toEqual(row.measure);
    if (row.followup || row.prev) expect(r.followup).toEqual(row.followup);
    expect(r.reasons.length).toBeGreaterThan(0);
  });

  it('reads the tense', () => {
    expect(classify('why did checkout fail yesterday?').tense).toBe('past');
    expect(classify('why is checkout failing?').tense).toBe('present');
    expect(classify('will checkout run out of memory?').tense).toBe('future');
  });

  it('says why, and what a decision outranked', () => {
    const r = classify('did the deploy cause the errors?');
    expect(r.reasons).toEqual(['asks for the cause', 'outranks changes, status']);
  });

  it('needs no context argument', () => {
    expect(classifyIntent('is checkout healthy?').intent).toBe('status');
  });

  it('is not confused by "most" that is not a ranking', () => {
    expect(classify('which deploy is most likely the cause?').intent).toBe('root_cause');
    expect(classify('what was the most recent deploy?').intent).toBe('changes');
  });
});
