/**
 * What kind of answer a question wants, decided without a model from its
 * words, the things it names, its tense and the thread so far.
 *
 * Decision rules, in order:
 * 1. Follow-ups (they only make sense after an earlier answer):
 *    - asks for the grounds of the answer ("why do you think so?", "what is
 *      the evidence") → followup_explain; a bare "why?" is followup_explain
 *      when the earlier turn found a root cause, else root_cause on the
 *      earlier subject;
 *    - asks what to do ("what should I do?", "how do I fix it") →
 *      followup_action; naming a service the earlier turn did not look at
 *      makes it root_cause for that service (the cause comes before the fix);
 *    - asks for logs of something already discussed ("show me the logs for
 *      that", "and the logs?") → followup_logs;
 *    - a short "and shipping?", "what about cart?", "same for payment", or
 *      just a name or a time → followup_subject: the earlier intent again,
 *      on the new subject (or the earlier subject at the new time).
 *    Without an earlier turn these fall back: explain and a bare "why" →
 *    unknown; action → root_cause when a subject is named, else unknown;
 *    logs → logs; "what about cart?" → status.
 * 2. Otherwise the cues of CUES are matched; the intent wins that comes
 *    first in PRECEDENCE among those with a cue ("why" outranks everything,
 *    a domain such as security outranks an answer shape such as ranking,
 *    and a yes/no question is status only when nothing more specific fits).
 * 3. A status question in the future tense ("will the disk fill up?") is
 *    unknown: telemetry does not forecast.
 * 4. A question that only names a subject ("checkout?") is status; nothing
 *    at all is unknown, and the caller plans with a model or looks for a
 *    root cause.
 */

export const INTENTS = [
  'root_cause',
  'status',
  'ranking',
  'logs',
  'changes',
  'figures',
  'security',
  'efficiency',
  'compare',
  'followup_action',
  'followup_logs',
  'followup_explain',
  'followup_subject',
  'unknown',
] as const;
export type Intent = (typeof INTENTS)[number];

/** What is measured, ranked or compared. */
export type Measure = 'latency' | 'errors' | 'error_rate' | 'log_volume' | 'cpu' | 'memory' | 'traffic' | 'restarts';
export type Stat = 'p50' | 'p75' | 'p90' | 'p95' | 'p99' | 'p999' | 'avg' | 'max' | 'min' | 'count' | 'rate' | 'sum';
/** What a ranking lists. */
export type Ranked = 'service' | 'endpoint' | 'operation' | 'host' | 'pod' | 'node' | 'namespace' | 'log_pattern' | 'client';
export type Tense = 'past' | 'present' | 'future';

export interface IntentContext {
  /** The earlier turn of the thread: the intent that ran, what it was about, whether it found a root cause. */
  previous?: { intent: Intent; subject: readonly string[]; hadRootCause: boolean };
  /** Names this question mentions (services, hosts, pods…), from the subject reader. */
  subjects?: readonly string[];
  /** The question names a time. */
  hasTime?: boolean;
}

export interface Ranking {
  /** Unset when the question says "worst" without saying at what. */
  by?: Measure;
  order: 'desc' | 'asc';
  of?: Ranked;
  limit?: number;
}

export interface IntentResult {
  intent: Intent;
  /** 0–1: how clearly the words say it (see CONFIDENCE). */
  confidence: number;
  /** Why, in words, for logs and for the answer's footnote. */
  reasons: string[];
  tense: Tense;
  ranking?: Ranking;
  /** For figures and compare: what is asked for. */
  measure?: { kind: Measure; stat?: Stat };
  /** For follow-ups: whether the earlier subject carries over, and (followup_subject) the intent to run again. */
  followup?: { subject: 'inherit' | 'swap'; runAs?: Intent };
}

/** Confidence by how the decision was reached. */
export const CONFIDENCE = {
  /** One clear cue. */
  clear: 0.9,
  /** A follow-up with an earlier turn to follow. */
  followup: 0.85,
  /** A clear cue, but cues of other intents too. */
  contested: 0.75,
  /** A follow-up whose earlier turn lacks what it refers to (e.g. no root cause to act on). */
  thin: 0.7,
  /** Only a weak cue. */
  weak: 0.6,
  /** Only a subject, or a follow-up form with no earlier turn but a subject. */
  fallback: 0.5,
  /** Refers to an earlier turn that does not exist. */
  orphan: 0.4,
  unknown: 0.2,
} as const;

type Strength = 'strong' | 'weak';
interface Cue {
  intent: Intent;
  strength: Strength;
  re: RegExp;
  why: string;
}

/** Words that say something is wrong. */
const PROBLEM =
  "(?:fail(?:s|ed|ing|ures?)?|errors?|erroring|slow(?:ness|er|ing)?|down|outages?|incidents?|broken|broke|degraded|timeouts?|timing\\s+out|crash(?:es|ed|ing|loop\\w*)?|5\\d\\d(?:s)?|5xx|spik(?:e|es|ed|ing)|not\\s+working|unavailable|unreachable|alerts?|firing|oom\\w*|restarting|stuck|hanging|dropp(?:ing|ed)|latency|can['’]?t\\s+\\w+|cannot\\s+\\w+|unable\\s+to)";
/** Words a yes/no question about health ends on. */
const STATE =
  '(?:healthy|ok|okay|fine|alright|good|up|down|slow|fast|degraded|working|alive|available|reachable|responding|stable|normal|running|overloaded|saturated|throttled|high|low|elevated|affected|impacted|struggling|lagging|ready|behaving|broken|failing|erroring|crashing|restarting|wrong|problems?|issues?|errors?|any(?:thing|one)?|something)';
const COPULA =
  '^(?:(?:so|and|but|ok|okay|hey|quick\\s+question)[\\s,:]+)?(?:is|are|was|were|does|do|did|has|have|had|can|could|will|should)\\b';
const SUPERLATIVE =
  '(?:slowest|fastest|quickest|noisiest|chattiest|loudest|busiest|heaviest|hungriest|most|least|fewest|highest|lowest|biggest|largest|smallest|worst|best|top\\s*\\d*|bottom\\s*\\d*|rank(?:ed|ing)?|sort(?:ed)?\\s+by|order(?:ed)?\\s+by|leaderboard)';
/** Uses of those words that are not rankings. */
const NOT_RANKING = /\b(?:at\s+most|at\s+least|most\s+likely|most\s+recent(?:ly)?|on\s+top\s+of|best\s+way|best\s+practice|top\s+of)\b/g;

const re = (s: string) => new RegExp(s);

export const CUES: Cue[] = [
  // root cause
  { intent: 'root_cause', strength: 'strong', re: /^(?:(?:so|and|but|ok|okay|hey)[\s,]+)?why\b/, why: 'starts with "why"' },
  {
    intent: 'root_cause',
    strength: 'strong',
    re: /\bwhy\s+(?:is|are|was|were|did|does|do|has|have|had|would|could|can't|isn't|aren't|won't|doesn't|didn't)\b/,
    why: 'asks why',
  },
  {
    intent: 'root_cause',
    strength: 'strong',
    re: /\bwhat(?:'s|\s+is|\s+was|\s+were|\s+are)?\s+(?:the\s+)?(?:root\s+)?caus(?:e|ed|es|ing)\b|\broot[\s-]?cause\b|\bcause\s+of\b|\bcaused\s+by\b|\b(?:the|a)\s+(?:likely\s+|probable\s+|root\s+)?cause\b|\bculprit\b|\b(?:cause|caused|causing)\s+(?:the|this|these|those|it|that|our)\b|\breason\s+(?:for|why|behind)\b/,
    why: 'asks for the cause',
  },
  {
    intent: 'root_cause',
    strength: 'strong',
    re: /\bwhat(?:'s|\s+is|\s+was|\s+are|\s+were)\s+wrong\s+with\b|\bwhat\s+went\s+wrong\b|\bwhat\s+happened\b|\bwhat\s+broke\b|\bhow\s+come\b/,
    why: 'asks what went wrong',
  },
  {
    intent: 'root_cause',
    strength: 'strong',
    re: /\b(?:investigate|diagnose|troubleshoot|debug|dig\s+into|look\s+into|root\s+out)\b|\bexplain\s+(?:the|these|why)\b/,
    why: 'asks for an investigation',
  },
  {
    intent: 'root_cause',
    strength: 'strong',
    re: re(
      `\\bwhat(?:'s|\\s+is)\\s+(?:going\\s+on|happening)\\b.*\\b${PROBLEM}\\b|\\b${PROBLEM}\\b.*\\bwhat(?:'s|\\s+is)\\s+(?:going\\s+on|happening)\\b`,
    ),
    why: 'asks what is going on with a problem',
  },
  { intent: 'root_cause', strength: 'weak', re: re(`\\b${PROBLEM}\\b`), why: 'names a problem' },

  // security
  {
    intent: 'security',
    strength: 'strong',
    re: /\bfailed\s+log\s?-?ins?\b|\blog\s?-?in\s+failures?\b|\bbrute[\s-]?forc\w*|\b(?:under\s+)?attack(?:s|ed|ers?)?\b|\bintrusions?\b|\bsuspicious\b|\bunauthori[sz]ed\b|\bddos\b|\bport\s+scan\w*|\bscann(?:ing|ers?)\b|\bcredential\w*|\bcompromised?\b|\bbreach(?:es|ed)?\b|\bmalicious\b|\bsecurity\b|\bvulnerab\w*|\bcve-\d+|\bsql\s+injection\b|\bxss\b|\bauth(?:entication)?\s+failures?\b|\bforbidden\b|\bblocked\s+ips?\b|\bbotnets?\b/,
    why: 'names a security concern',
  },
  { intent: 'security', strength: 'weak', re: /\b40[13]s?\b|\bbots?\b|\blog\s?-?ins?\b/, why: 'names access or logins' },

  // efficiency
  {
    intent: 'efficiency',
    strength: 'strong',
    re: /\bwast(?:e|es|ed|ing|eful)\b|\bover[\s-]?provision\w*|\bunder[\s-]?utili[sz]\w*|\bidle\b|\bright[\s-]?siz\w*|\bcosts?\b|\bcostly\b|\bsave\s+money\b|\bcheaper\b|\bspend(?:ing)?\b|\bunused\b|\boversized\b|\befficien(?:t|cy)\b|\bbill(?:ing)?\b|\bscale\s+down\b|\btoo\s+(?:much|many)\s+(?:cpu|memory|replicas|resources)\b/,
    why: 'asks about waste or cost',
  },
  {
    intent: 'efficiency',
    strength: 'strong',
    // CPU or memory set aside against what is used: "how much CPU do we request compared with what we use?"
    re: /^(?=.*\b(?:cpu|memory|resources?)\b)(?=.*\b(?:request(?:s|ed)?|limits?|reserv\w*|allocat\w*)\b)(?=.*\b(?:use|uses|used|using|usage|consum\w*|need(?:s|ed)?)\b)/,
    why: 'compares resources set aside with their use',
  },

  // compare
  {
    intent: 'compare',
    strength: 'strong',
    re: /\bcompar(?:e|ed|es|ing|ison)\b|\bvs\.?(?=\s|$)|\bversus\b|\b(?:worse|better|slower|faster)\s+than\b|\bdifferen(?:t|ce)\s+(?:from|between|to)\b|\brelative\s+to\b|\b(?:more|less|fewer|higher|lower)\s+than\s+(?:usual|normal|yesterday|before|earlier|last|the\s+(?:previous|same|day|week)|a\s+(?:week|day)\s+ago)\b|\bthan\s+(?:usual|normal)\b|\bagainst\s+(?:yesterday|last|the\s+previous)\b/,
    why: 'compares two periods',
  },

  // changes
  {
    intent: 'changes',
    strength: 'strong',
    re: /\bwhat(?:'s|\s+has|\s+have)?\s+changed\b|\b(?:any(?:thing)?|recent|latest|last)\s+(?:recent\s+)?chang\w*|\bchanges?\b|\bdeploy(?:s|ed|ment|ments)?\b|\brollouts?\b|\brolled\s+out\b|\breleases?\b|\breleased\b|\bnew\s+version\b|\bconfig(?:uration)?\s+chang\w*|\bfeature\s+flags?\b|\brollbacks?\b|\brolled\s+back\b|\bupgrad(?:e|ed|es)\b|\bwho\s+(?:changed|deployed|pushed)\b|\bdid\s+(?:anything|something)\s+change\b/,
    why: 'asks about changes or deploys',
  },

  // ranking: the superlative is checked with its measure in rankingOf()
  { intent: 'ranking', strength: 'strong', re: re(`\\b${SUPERLATIVE}\\b`), why: 'asks for the most or least' },

  // figures
  {
    intent: 'figures',
    strength: 'strong',
    re: /\bhow\s+(?:many|much)\b|\bwhat(?:'s|\s+is|\s+was|\s+are|\s+were)\s+(?:the\s+|our\s+)?(?:current\s+|average\s+|total\s+|overall\s+)?(?:p\d{2,3}|average|avg|mean|median|max(?:imum)?|min(?:imum)?|peak|total|number|count|error\s+rate|failure\s+rate|latency|throughput|rps|qps|cpu|memory|request\s+rate|traffic|volume|rate|percentage|share)\b|\b(?:requests|errors|calls)\s+per\s+(?:second|minute|hour)\b/,
    why: 'asks for a number',
  },
  {
    intent: 'figures',
    strength: 'weak',
    re: /\b(?:p(?:50|75|90|95|99|999)|error\s+rate|failure\s+rate|latency|throughput|rps|qps|cpu|memory|request\s+rate|traffic)\s+(?:of|for|on|in)\b|\bp(?:50|75|90|95|99|999)\b|\b(?:average|avg|mean|median)\b/,
    why: 'names a measure',
  },

  // logs
  {
    intent: 'logs',
    strength: 'strong',
    re: /\blogs?\b(?!\s+volume)|\blog\s+lines?\b|\berror\s+lines?\b|\bstack\s*traces?\b|\btracebacks?\b|\bgrep\b|\btail\b/,
    why: 'asks for log lines',
  },
  {
    intent: 'logs',
    strength: 'weak',
    // "give me the errors", not "customers get errors" (a problem report).
    re: /\b(?:show|list|print|display|fetch|find|(?:give|get)\s+me)\s+(?:me\s+)?(?:the\s+|all\s+|recent\s+|latest\s+|last\s+)*(?:error|warning|exception)s?\b/,
    why: 'asks to see errors',
  },

  // status
  {
    intent: 'status',
    strength: 'strong',
    re: re(`${COPULA}.*\\b${STATE}\\b`),
    why: 'a yes/no question about health',
  },
  {
    intent: 'status',
    strength: 'strong',
    re: /\bhow(?:'s|\s+is|\s+are|\s+was|\s+were|\s+has|\s+have)\b.*\b(?:doing|performing|looking|behaving|holding\s+up|going|running|been)\b|\bhow(?:'s|\s+is|\s+are)\s+(?:the\s+)?(?:health|status|state)\b|\b(?:status|health|state)\s+(?:of|for)\b|\bhealth\s*check\b|\bany(?:thing)?\s+wrong\b|\bsomething\s+wrong\b|\b(?:everything|all|things)\s+(?:ok|okay|fine|good|alright|healthy|normal)\b|\bany\s+(?:issues|problems|incidents|alerts|errors|outages|anomal(?:y|ies))\b|^(?:status|health)\b|\b(?:overview|status\s+report|health\s+report)\b|\bhow\s+are\s+(?:we|things)\b/,
    why: 'asks how something is doing',
  },
  { intent: 'status', strength: 'weak', re: /\bwhat(?:'s|\s+is)\s+(?:going\s+on|happening|up)\b/, why: 'asks what is going on' },
  { intent: 'status', strength: 'weak', re: re(COPULA), why: 'a yes/no question' },
];

/**
 * Which intent wins among those with a cue, first to last. "why" outranks
 * everything; domains outrank answer shapes; the plain yes/no question
 * (status) only wins when nothing more specific does.
 */
export const PRECEDENCE: [Intent, Strength][] = [
  ['root_cause', 'strong'],
  ['security', 'strong'],
  ['efficiency', 'strong'],
  ['compare', 'strong'],
  ['changes', 'strong'],
  ['ranking', 'strong'],
  ['figures', 'strong'],
  ['logs', 'strong'],
  ['status', 'strong'],
  ['figures', 'weak'],
  ['logs', 'weak'],
  ['security', 'weak'],
  ['root_cause', 'weak'],
  ['status', 'weak'],
];

// ---------------------------------------------------------------- follow-ups

const EXPLAIN =
  /\bwhy\s+(?:do|did|would)\s+you\s+(?:think|say|believe|conclude|suspect)\b|\bwhat(?:'s|\s+is|\s+was|\s+are)\s+(?:the|your)\s+(?:evidence|proof|sources?|reasoning)\b|\bhow\s+do\s+you\s+know\b|\bshow\s+(?:me\s+)?(?:the\s+|your\s+)?(?:evidence|proof|reasoning)\b|\bare\s+you\s+sure\b|\bwhat\s+makes\s+you\s+(?:think|say|sure)\b|\bbased\s+on\s+what\b|\bexplain\s+(?:that|this|it|your\s+(?:answer|reasoning))\b|\bhow\s+did\s+you\s+(?:conclude|get\s+(?:to\s+)?that|find\s+(?:that|this|it))\b|\bprove\s+it\b|\bwhere\s+does\s+(?:that|this)\s+come\s+from\b/;
const BARE_WHY = /^(?:(?:but|and|so|ok(?:ay)?)[\s,]+)?(?:why|how\s+come)(?:\s+(?:is\s+that|so|not|that|this))?\s*[?!.]*$/;
const ACTION =
  /\bwhat\s+(?:should|can|could|do|must)\s+(?:i|we)\s+do\b|\bhow\s+(?:do|can|should|could|would)\s+(?:i|we)\s+(?:fix|solve|resolve|mitigate|remediate|repair|stop|handle|recover)\b|\bhow\s+to\s+(?:fix|solve|resolve|mitigate|remediate|recover)\b|\b(?:fix|remediate|mitigate|resolve)\s+(?:it|this|that)\b|\bwhat(?:'s|\s+is|\s+are)\s+the\s+(?:fix|remedy|remediation|mitigation|solution|next\s+steps?)\b|\bnext\s+steps?\b|\bshould\s+(?:i|we)\s+(?:roll\s*back|restart|scale|revert|redeploy|drain|kill)\b|\bwhat\s+do\s+you\s+(?:recommend|suggest|propose)\b|\bany\s+(?:recommendations|suggestions)\b|\bcan\s+you\s+(?:fix|restart|roll\s*back|scale|revert)\b/;
const ANAPHORA = /\b(?:it|its|that|this|those|these|them|there|same)\b/;
const SUBJECT_FOLLOWUP = /^(?:(?:and|also|ok(?:ay)?|then|now|so)[\s,]+)*(?:(?:what|how)\s+about|same\s+(?:for|with|on)|and|also)\b/;
/** Filler a short follow-up may carry besides names and times. */
const FILLER = new Set(
  'and also ok okay then now so what how about same for with on in the a an of service services please too as well at from since during'.split(
    ' ',
  ),
);

// ---------------------------------------------------------------- details

const RANK_WORDS: [RegExp, Measure, 'desc' | 'asc'][] = [
  [/\bslow(?:est|er)\b/, 'latency', 'desc'],
  [/\b(?:fast(?:est|er)|quickest)\b/, 'latency', 'asc'],
  [/\b(?:nois(?:iest|ier)|chatt(?:iest|ier)|loudest|most\s+verbose)\b/, 'log_volume', 'desc'],
  [/\bbusiest\b/, 'traffic', 'desc'],
  [/\bhungriest\b/, 'memory', 'desc'],
];
const ASCENDING = /\b(?:least|fewest|lowest|smallest|best|bottom)\b/;

/** Measures by their words; the first that matches (error rate before errors). */
const MEASURES: [RegExp, Measure][] = [
  [/\b(?:error|failure)\s+(?:rate|ratio|percentage)s?\b|\b%\s+(?:of\s+)?errors\b/, 'error_rate'],
  [
    /\blog\s+(?:volume|lines|size)\b|\bmost\s+logs\b|\blogs?\s+volume\b|\bnois(?:y|iest|ier)\b|\bverbose\b|\bchatt(?:y|iest)\b/,
    'log_volume',
  ],
  [/\berrors?\b|\bfail(?:ures?|ed|ing)\b|\bexceptions?\b|\b5xx\b|\b5\d\d\b/, 'errors'],
  [/\blatenc(?:y|ies)\b|\bresponse\s+times?\b|\bdurations?\b|\bp(?:50|75|90|95|99|999)\b|\bslow\w*\b|\bfast\w*\b/, 'latency'],
  [/\bcpu\b|\bprocessor\b/, 'cpu'],
  [/\bmemory\b|\bram\b|\bmem\b|\bheap\b/, 'memory'],
  [/\brestarts?\b|\bcrash(?:es|loops?)?\b|\boom\w*\b/, 'restarts'],
  [/\btraffic\b|\brequests?\b|\bthroughput\b|\brps\b|\bqps\b|\bcalls\b|\bhits\b|\bload\b|\bbusy\b/, 'traffic'],
  [/\blogs?\b/, 'log_volume'],
];

const RANKED: [RegExp, Ranked][] = [
  [/\b(?:endpoints?|routes?|urls?|apis?|paths?)\b/, 'endpoint'],
  [/\b(?:operations?|spans?|transactions?|quer(?:y|ies))\b/, 'operation'],
  [/\bservices?\b/, 'service'],
  [/\b(?:pods?|containers?)\b/, 'pod'],
  [/\bnodes?\b/, 'node'],
  [/\b(?:hosts?|servers?|machines?|instances?|vms?)\b/, 'host'],
  [/\bnamespaces?\b/, 'namespace'],
  [/\b(?:logs?|log\s+(?:lines|patterns|messages)|patterns?|messages?)\b/, 'log_pattern'],
  [/\b(?:ips?|clients?|users?|callers?)\b/, 'client'],
];

const STATS: [RegExp, Stat][] = [
  [/\bp999\b/, 'p999'],
  [/\bp99\b|\b99(?:th)?\s+percentile\b/, 'p99'],
  [/\bp95\b|\b95(?:th)?\s+percentile\b/, 'p95'],
  [/\bp90\b|\b90(?:th)?\s+percentile\b/, 'p90'],
  [/\bp75\b/, 'p75'],
  [/\bp50\b|\bmedian\b/, 'p50'],
  [/\baverage\b|\bavg\b|\bmean\b/, 'avg'],
  [/\bmax(?:imum)?\b|\bpeak\b|\bhighest\b/, 'max'],
  [/\bmin(?:imum)?\b|\blowest\b/, 'min'],
  [/\bper\s+(?:second|minute|hour)\b|\brps\b|\bqps\b|\brequest\s+rate\b/, 'rate'],
  [/\btotal\b|\bsum\b/, 'sum'],
  [/\bhow\s+many\b|\bnumber\s+of\b|\bcount\b/, 'count'],
];

function firstMatch<T>(text: string, table: [RegExp, T][]): T | undefined {
  return table.find(([r]) => r.test(text))?.[1];
}

function earliest<T>(text: string, table: [RegExp, T][]): T | undefined {
  let best: { at: number; value: T } | undefined;
  for (const [r, value] of table) {
    const m = r.exec(text);
    if (m && (!best || m.index < best.at)) best = { at: m.index, value };
  }
  return best?.value;
}

const LIMIT_WORDS: Record<string, number> = { three: 3, five: 5, ten: 10, twenty: 20 };

function rankingOf(text: string): Ranking {
  const ranking: Ranking = { order: 'desc' };
  const word = RANK_WORDS.find(([r]) => r.test(text));
  if (word) {
    ranking.by = word[1];
    ranking.order = word[2];
  } else {
    // The measure closest after the superlative ("most errors", "top CPU consumers"), else anywhere.
    const sup = re(`\\b${SUPERLATIVE}\\b`).exec(text);
    const after = sup ? text.slice(sup.index) : text;
    const by = earliest(after, MEASURES) ?? earliest(text, MEASURES);
    if (by) ranking.by = by;
    if (ASCENDING.test(text)) ranking.order = 'asc';
  }
  const of = earliest(text, RANKED);
  if (of) ranking.of = of;
  const limit =
    /\b(?:top|bottom)\s+(\d+|three|five|ten|twenty)\b|\b(\d+)\s+(?:slowest|fastest|noisiest|busiest|worst|best|most|biggest|largest)\b/.exec(
      text,
    );
  const n = limit ? (limit[1] ?? limit[2])! : undefined;
  if (n) ranking.limit = Number(n) || LIMIT_WORDS[n] || 0;
  if (!ranking.limit) delete ranking.limit;
  return ranking;
}

function measureOf(text: string): { kind: Measure; stat?: Stat } | undefined {
  const kind = firstMatch(text, MEASURES);
  if (!kind) return undefined;
  const stat = firstMatch(text, STATS);
  return stat ? { kind, stat } : { kind };
}

const FUTURE = /\b(?:will|won't|going\s+to|gonna|tomorrow|next\s+(?:week|hour|day|month|\d+))\b/;
const PAST =
  /\b(?:was|were|did|didn't|had|happened|started|began|went|failed|crashed|caused|changed|broke|deployed|spiked|dropped|ago|yesterday|last\s+(?:night|week))\b/;

function tenseOf(text: string): Tense {
  if (FUTURE.test(text)) return 'future';
  if (PAST.test(text)) return 'past';
  return 'present';
}

function normalize(text: string): string {
  return text.toLowerCase().replace(/[’‘]/g, "'").replace(/[“”]/g, '"').replace(/\s+/g, ' ').trim();
}

/** Follow-up runs of an earlier follow-up repeat what that turn was. */
function underlying(intent: Intent): Intent {
  if (intent === 'followup_logs') return 'logs';
  if (intent === 'followup_action' || intent === 'followup_explain') return 'root_cause';
  if (intent === 'followup_subject') return 'status';
  return intent;
}

// ---------------------------------------------------------------- classify

export function classifyIntent(text: string, ctx: IntentContext = {}): IntentResult {
  const t = normalize(text);
  const tense = tenseOf(t);
  const subjects = ctx.subjects ?? [];
  const prev = ctx.previous;
  const named = subjects.length > 0;
  const newSubject = named && !!prev && subjects.some((s) => !prev.subject.includes(s));
  const result = (intent: Intent, confidence: number, reasons: string[], extra: Partial<IntentResult> = {}): IntentResult => ({
    intent,
    confidence,
    reasons,
    tense,
    ...extra,
  });

  // 1. Follow-ups.
  if (EXPLAIN.test(t)) {
    if (prev)
      return result('followup_explain', CONFIDENCE.followup, ['asks for the grounds of the earlier answer'], {
        followup: { subject: 'inherit' },
      });
    return result('unknown', CONFIDENCE.orphan, ['asks for the grounds of an earlier answer, but there is none']);
  }
  if (BARE_WHY.test(t)) {
    if (prev?.hadRootCause)
      return result('followup_explain', CONFIDENCE.followup, ['a bare "why" after a root cause asks for its grounds'], {
        followup: { subject: 'inherit' },
      });
    if (prev)
      return result('root_cause', CONFIDENCE.thin, ['a bare "why" after an answer without a root cause asks for one'], {
        followup: { subject: 'inherit' },
      });
    return result('unknown', CONFIDENCE.orphan, ['a bare "why" with nothing before it']);
  }
  if (ACTION.test(t)) {
    if (prev && newSubject)
      return result(
        'root_cause',
        CONFIDENCE.contested,
        ['asks how to fix a service the earlier turn did not look at; the cause comes first'],
        {
          followup: { subject: 'swap' },
        },
      );
    if (prev) {
      const reasons = ['asks what to do about the earlier finding'];
      if (!prev.hadRootCause) reasons.push('the earlier turn found no root cause');
      return result('followup_action', prev.hadRootCause ? CONFIDENCE.followup : CONFIDENCE.thin, reasons, {
        followup: { subject: named ? 'swap' : 'inherit' },
      });
    }
    if (named) return result('root_cause', CONFIDENCE.weak, ['asks how to fix something with no earlier turn; the cause comes first']);
    return result('unknown', CONFIDENCE.orphan, ['asks what to do, with no earlier turn to act on']);
  }

  const cues = CUES.filter((c) => c.re.test(t) && !(c.intent === 'ranking' && !rankingCue(t)));
  const strong = new Set(cues.filter((c) => c.strength === 'strong').map((c) => c.intent));
  const logsCue = cues.some((c) => c.intent === 'logs' && c.strength === 'strong');
  const onlyLogs = logsCue && [...strong].every((i) => i === 'logs' || i === 'status');
  if (onlyLogs && (ANAPHORA.test(t) || !named || SUBJECT_FOLLOWUP.test(t))) {
    if (prev && !newSubject)
      return result('followup_logs', CONFIDENCE.followup, ['asks for the logs of what was discussed'], {
        followup: { subject: 'inherit' },
      });
    if (!prev && ANAPHORA.test(t) && !named)
      return result('logs', CONFIDENCE.orphan, ['asks for logs of "that", but there is no earlier turn']);
  }
  const short = t.split(/\s+/).length <= 6;
  const leftover = leftoverWords(t, subjects);
  const subjectForm = short && (SUBJECT_FOLLOWUP.test(t) || leftover.length === 0) && (named || ctx.hasTime);
  const fresh = [...strong].filter((i) => i !== 'status');
  if (subjectForm && fresh.length === 0) {
    if (prev)
      return result(
        'followup_subject',
        CONFIDENCE.followup,
        [named ? 'names another subject for the earlier question' : 'asks the earlier question at another time'],
        { followup: { subject: named && newSubject ? 'swap' : 'inherit', runAs: underlying(prev.intent) } },
      );
    if (named && !strong.has('status')) return result('status', CONFIDENCE.fallback, ['only names a subject; reads as "how is it doing"']);
  }

  // 2. Cues by precedence.
  for (const [intent, strength] of PRECEDENCE) {
    const hit = cues.filter((c) => c.intent === intent && c.strength === strength);
    if (!hit.length) continue;
    const reasons = [...new Set(hit.map((c) => c.why))];
    const rivals = [...strong].filter((i) => i !== intent);
    const confidence: number = strength === 'weak' ? CONFIDENCE.weak : rivals.length ? CONFIDENCE.contested : CONFIDENCE.clear;
    if (rivals.length && strength === 'strong') reasons.push(`outranks ${rivals.join(', ')}`);
    const extra: Partial<IntentResult> = {};
    if (intent === 'ranking') extra.ranking = rankingOf(t);
    if (intent === 'figures' || intent === 'compare') {
      const m = measureOf(t);
      if (m) extra.measure = m;
    }
    // 3. Telemetry does not forecast.
    if (intent === 'status' && tense === 'future') {
      return result('unknown', CONFIDENCE.unknown, ['asks about the future; telemetry only tells the past']);
    }
    return result(intent, confidence, reasons, extra);
  }

  // 4. Nothing but a subject, or nothing.
  if (named) return result('status', CONFIDENCE.fallback, ['only names a subject; reads as "how is it doing"']);
  return result('unknown', CONFIDENCE.unknown, ['no cue for any intent']);
}

function rankingCue(t: string): boolean {
  const cleaned = t.replace(NOT_RANKING, ' ');
  return re(`\\b${SUPERLATIVE}\\b`).test(cleaned);
}

/** Words left after names and filler: none means the question is just "and X?". */
function leftoverWords(t: string, subjects: readonly string[]): string[] {
  let rest = t;
  for (const s of subjects) {
    const forms = [s, s.replace(/[-_.]/g, ' ')].map((f) => f.toLowerCase().replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    for (const f of forms) rest = rest.replace(new RegExp(`\\b${f}(?:'s|s|es)?\\b`, 'g'), ' ');
  }
  return rest
    .split(/[^a-z0-9']+/)
    .filter(Boolean)
    .filter((w) => !FILLER.has(w));
}
