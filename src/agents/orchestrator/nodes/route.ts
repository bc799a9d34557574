import { Send } from '@langchain/langgraph';
import { AGENTS, type AgentName, type Policies } from '../../../policies/schema.ts';
import { hasRole } from '../../../core/scope.ts';
import { render, refOf } from '../../../prompts/registry.ts';
import { runContext, toolContext, type RunContext, type AgentConfig } from '../../context.ts';
import { classifyWithModel } from '../../llm.ts';
import type { Assignment } from '../../specialists/specialist.ts';
import type { ChatStateType, ChatUpdate, Plan } from '../state.ts';
import { parseDuration } from '../../../core/duration.ts';
import { investigationWindows } from '../windows.ts';
import { labelPattern, type AlertContext } from '../../../core/alert.ts';
import { alertSubjects, questionSubjects } from '../../subject.ts';
import { namesInTelemetry } from '../../../tools/telemetry/subjects.ts';
import { CONFIDENCE, INTENTS, type Intent } from '../../understand/index.ts';
import { z } from 'zod';
import { structuredCall } from '../../llm.ts';
import { planWithModel } from '../../planner.ts';
import { parseActionRequests } from '../../../actions/intent.ts';

const MIN = 60_000;

/** Keyword scores per specialist; several may answer when their scores are close to the best. */
function lexicalRoute(text: string, policy: Policies['routing']): { agents: AgentName[]; scores: Record<string, number> } {
  const lower = ` ${text.toLowerCase().replace(/[^a-z0-9\s-]/g, ' ')} `;
  const scores: Record<string, number> = {};
  for (const agent of AGENTS) {
    scores[agent] = policy.agents[agent]!.keywords.filter(
      (k) => lower.includes(` ${k.toLowerCase()} `) || lower.includes(` ${k.toLowerCase()}s `),
    ).length;
  }
  const best = Math.max(...Object.values(scores));
  if (best === 0) return { agents: [...policy.default_agents], scores };
  return { agents: AGENTS.filter((a) => scores[a]! > 0 && scores[a]! >= best * policy.multi_agent_share), scores };
}

/** An alert routes by the rules of policies/alerts.yaml (labels), else by the words of its name and summary. */
function alertRoute(alert: AlertContext, policies: Policies): Pick<Plan, 'agents' | 'method' | 'reason'> {
  for (const [i, rule] of policies.alerts.routing.entries()) {
    if (Object.entries(rule.match).every(([label, re]) => labelPattern(re).test(alert.labels[label] ?? ''))) {
      return {
        agents: [...rule.agents],
        method: 'rules',
        reason: `alert rule ${i + 1} (${Object.entries(rule.match)
          .map(([k, v]) => `${k}=~${v}`)
          .join(', ')})`,
      };
    }
  }
  const words = `${alert.alertname.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/_/g, ' ')} ${alert.summary} ${alert.description}`;
  const lexical = lexicalRoute(words, policies.routing);
  const named = Object.entries(lexical.scores)
    .filter(([, v]) => v > 0)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return {
    agents: lexical.agents,
    method: named ? 'lexical' : 'default',
    reason: named ? `alert keywords: ${named}` : 'alert without keywords; default specialists',
  };
}

/**
 * The specialists an intent needs, when the intent alone decides: a status,
 * ranking, logs, changes, figures or comparison question is the SRE
 * specialist's; security and cost questions go to theirs; a follow-up about
 * what to do or why answers from the earlier turn, with no new investigation.
 * Root-cause and unclear questions are routed by their words (or a model).
 */
function intentAgents(intent: Intent): AgentName[] | undefined {
  switch (intent) {
    case 'security':
      return ['security'];
    case 'efficiency':
      return ['efficiency'];
    case 'status':
    case 'ranking':
    case 'logs':
    case 'changes':
    case 'figures':
    case 'compare':
    case 'followup_logs':
      return ['sre'];
    case 'followup_action':
    case 'followup_explain':
      return [];
    default:
      return undefined;
  }
}

async function decide(state: ChatStateType, rc: RunContext, intent: Intent): Promise<Pick<Plan, 'agents' | 'method' | 'reason'>> {
  const { policies, model, prompts } = rc.deps;
  if (state.alert) return alertRoute(state.alert, policies);
  const byIntent = intentAgents(intent);
  if (byIntent) {
    const why = state.facts?.reasons?.length ? ` (${state.facts.reasons.join('; ')})` : '';
    return { agents: byIntent, method: 'rules', reason: `intent ${intent}${why}`.slice(0, 400) };
  }
  const lexical = lexicalRoute(state.question, policies.routing);
  const named = Object.entries(lexical.scores)
    .filter(([, v]) => v > 0)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  if (model && policies.llm.route_with_llm) {
    const prompt = prompts.get('route');
    const { system, user } = render(prompt, {
      question: rc.redactor.redact(state.question),
      services: rc.services.join(', ') || '(none seen yet)',
    });
    try {
      const d = await classifyWithModel(rc, model, system, user, refOf(prompt));
      return { agents: [...new Set(d.agents)], method: 'llm', reason: d.reason || `model (${refOf(prompt).id} v${prompt.version})` };
    } catch (err) {
      rc.deps.logger.warn(
        { tracking_id: rc.trackingId, err: (err as Error).message },
        'routing with the model failed; routing by keywords',
      );
    }
  }
  return {
    agents: lexical.agents,
    method: named ? 'lexical' : 'default',
    reason: named ? `keywords: ${named}` : 'no keywords; default specialists',
  };
}

/** Picks the specialists, the window and the services in focus. */
export async function route(state: ChatStateType, config: AgentConfig): Promise<ChatUpdate> {
  const rc = runContext(config);
  rc.emit({ event: 'agent.step', data: { agent: 'orchestrator', step: 'route', status: 'started' } });
  const facts = state.facts!;
  const alert = state.alert;
  // Asking for an action needs the evidence that would justify it: the root-cause playbook gathers it.
  const asksForAction =
    !alert &&
    (() => {
      const parsed = parseActionRequests(state.question, rc.services);
      return parsed.requests.length + parsed.others.length > 0;
    })();
  const intent: Intent = alert || asksForAction ? 'root_cause' : await refineIntent(state, rc);
  let decision = await decide(state, rc, intent);
  // An alert looks from a little before it started; a follow-up that names no time keeps the previous turn's window.
  const times = windowsFor(state, rc);
  const { window, baseline } = times;
  // A question no intent covers: with a model, it plans a few tool calls; without, a general look for problems.
  const planned = intent === 'unknown' ? await modelPlan(state, rc, window) : undefined;
  if (planned?.steps.length) decision = { agents: ['sre'], method: 'llm', reason: planned.reason };
  const notes = [...times.notes];
  if (intent === 'unknown' && !planned?.steps.length)
    notes.push(
      rc.deps.model
        ? 'the question did not say what kind of answer it wants and no usable plan came of it, so this is a general look for problems'
        : 'the question did not say what kind of answer it wants (status, a ranking, logs, changes, figures, a cause), so this is a general look for problems',
    );
  const subject = await checkSubject(state, rc);
  const principal = { sub: rc.sub, roles: rc.roles, workspaces: [rc.workspace] };
  const skipped: Plan['skipped'] = [];
  const agents = decision.agents.filter((a) => {
    const roles = rc.deps.policies.routing.agents[a]!.roles;
    if (hasRole(principal, ...roles)) return true;
    skipped.push({ agent: a, reason: `needs the role ${roles.join(' or ')}` });
    rc.emit({ event: 'agent.step', data: { agent: a, step: 'route', status: 'skipped', detail: `needs the role ${roles.join(' or ')}` } });
    return false;
  });
  const focus =
    alert?.service && rc.services.includes(alert.service) && !facts.services.includes(alert.service)
      ? [alert.service, ...facts.services]
      : facts.services;
  const plan: Plan = {
    intent,
    agents,
    method: decision.method,
    reason: decision.reason,
    window,
    ...(baseline ? { baseline } : {}),
    ...(times.incidentStart !== undefined ? { incidentStart: times.incidentStart } : {}),
    focus,
    skipped,
    notes,
    ...(subject ? { subject } : {}),
    ...(planned?.steps.length ? { steps: planned.steps } : {}),
    ...(planned?.notes.length ? { planNotes: planned.notes } : {}),
  };
  rc.emit({
    event: 'agent.step',
    data: { agent: 'orchestrator', step: 'route', status: 'done', detail: `${agents.join(', ') || 'none'} (${decision.method})` },
  });
  return { plan };
}

/** Intents a model may choose: not the follow-ups, which need the thread's context the words carry. */
const MODEL_INTENTS = INTENTS.filter((i) => !i.startsWith('followup_'));
const IntentReply = z.object({ intent: z.enum(MODEL_INTENTS), reason: z.string().max(400).default('') });

/**
 * The intent, asking the model when the words leave it unclear (only a
 * subject, or no cue at all); the deterministic reading stands when there is
 * no model, when it is clear, or when the model fails.
 */
async function refineIntent(state: ChatStateType, rc: RunContext): Promise<Intent> {
  const facts = state.facts!;
  const model = rc.deps.model;
  if (!model || (facts.confidence ?? 1) > CONFIDENCE.fallback) return facts.intent;
  const prompt = rc.deps.prompts.get('intent');
  const previous = state.messages.filter((m) => m.role === 'user' && m.turn < state.turn).at(-1)?.content ?? '(none)';
  const { system, user } = render(prompt, {
    question: rc.redactor.redact(state.question),
    services: rc.services.join(', ') || '(none seen yet)',
    previous: rc.redactor.redact(previous.slice(0, 300)),
  });
  try {
    const reply = await structuredCall(rc, model, IntentReply, 'intent', system, user, refOf(prompt));
    if (reply.intent !== facts.intent)
      rc.deps.logger.info({ tracking_id: rc.trackingId, from: facts.intent, to: reply.intent }, 'the model read the intent');
    return reply.intent;
  } catch (err) {
    rc.deps.logger.warn({ tracking_id: rc.trackingId, err: (err as Error).message }, 'reading the intent with the model failed');
    return facts.intent;
  }
}

/** The model's plan for a question no intent covers; undefined without a model or when planning fails. */
async function modelPlan(state: ChatStateType, rc: RunContext, window: Plan['window']) {
  const model = rc.deps.model;
  if (!model) return undefined;
  try {
    const plan = await planWithModel(rc, model, state.question, window, rc.services);
    const reason = `planned by the model: ${plan.steps.map((s) => s.tool).join(', ') || 'nothing usable'}`;
    return { ...plan, reason };
  } catch (err) {
    rc.deps.logger.warn({ tracking_id: rc.trackingId, err: (err as Error).message }, 'planning with the model failed');
    return undefined;
  }
}

/**
 * The hosts, pods, jobs… the alert or question is about, and which of them
 * no telemetry of the workspace names (then the answer says so, and keeps
 * other problems apart from it).
 */
async function checkSubject(state: ChatStateType, rc: RunContext): Promise<Plan['subject']> {
  const named = state.alert ? alertSubjects(state.alert, rc.services, rc.workspace) : questionSubjects(state.facts!.entities);
  if (!named.length) return undefined;
  try {
    const found = await namesInTelemetry(
      toolContext(rc),
      named.map((s) => s.name),
    );
    return { named, missing: named.filter((s) => !found.has(s.name)) };
  } catch (err) {
    rc.deps.logger.warn({ tracking_id: rc.trackingId, err: (err as Error).message }, 'could not look the subject up');
    return undefined;
  }
}

function windowsFor(state: ChatStateType, rc: RunContext) {
  const facts = state.facts!;
  const w = rc.deps.policies.alerts.window;
  const previous = !facts.window && state.plan && !facts.services.length ? state.plan : undefined;
  return investigationWindows({
    now: rc.now,
    question: facts,
    ...(previous
      ? {
          previous: {
            window: previous.window,
            ...(previous.baseline ? { baseline: previous.baseline } : {}),
            ...(previous.incidentStart !== undefined ? { incidentStart: previous.incidentStart } : {}),
          },
        }
      : {}),
    ...(state.alert
      ? {
          alert: {
            startsAt: state.alert.starts_at,
            beforeStartMs: parseDuration(w.before_start)!,
            minMs: parseDuration(w.min)!,
            maxMs: parseDuration(w.max)!,
          },
        }
      : {}),
    defaultMs: state.alert ? 30 * MIN : facts.defaultWindowMs,
    maxWindowMs: parseDuration(rc.deps.policies.tools.max_window) ?? 7 * 86_400_000,
  });
}

/** Fans out to the chosen specialists, in parallel. */
export function toSpecialists(state: ChatStateType): Send[] | 'synthesize' {
  const plan = state.plan!;
  if (plan.agents.length === 0) return 'synthesize';
  return plan.agents.map((agent) => {
    const assignment: Assignment = {
      question: state.question,
      facts: state.facts!,
      window: plan.window,
      ...(plan.baseline ? { baseline: plan.baseline } : {}),
      ...(plan.incidentStart !== undefined ? { incidentStart: plan.incidentStart } : {}),
      focus: plan.focus,
      ...(state.alert ? { alertname: state.alert.alertname } : {}),
      intent: plan.intent,
      ...(plan.steps ? { steps: plan.steps } : {}),
    };
    return new Send(agent, { assignment });
  });
}
