import { api, stream } from './api.js';
import { empty, failure, field, h, link, replace, when } from './dom.js';
import { showEvidence } from './thread.js';

/**
 * The workspace's pending proposals: reason, evidence, approve or reject with
 * a comment, the outcome as it streams, and recent decisions with their
 * post-action check. Someone without an approver role of an action sees it read only.
 */

const params = (p) =>
  Object.entries(p ?? {})
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(', ');

async function threadEvidence(threadId, cache) {
  if (!cache.has(threadId)) {
    cache.set(
      threadId,
      api(`v1/threads/${encodeURIComponent(threadId)}`)
        .then((v) => new Map(v.evidence.map((e) => [e.id, e])))
        .catch(() => new Map()),
    );
  }
  return cache.get(threadId);
}

function outcome(a) {
  const result = a.result ? [a.result.status, a.result.message].filter(Boolean).join(' — ') : '';
  const v = a.verification;
  const check = v
    ? v.state === 'done'
      ? `${v.recovered ? 'recovered' : 'not recovered'}${v.message ? `: ${v.message}` : ''}`
      : `${v.state}, at ${when(v.at)}`
    : '';
  return h(
    'dl',
    { class: 'outcome' },
    h('dt', {}, 'Status'),
    h('dd', { class: `status ${a.status}` }, a.status),
    a.decided_by
      ? [h('dt', {}, 'Decided'), h('dd', {}, `${a.decided_by} at ${when(a.decided_at)}${a.comment ? `: ${a.comment}` : ''}`)]
      : null,
    result ? [h('dt', {}, 'Control plane'), h('dd', { class: 'result' }, result)] : null,
    a.verify || a.verification
      ? [h('dt', {}, 'Post-action check'), h('dd', { class: 'check' }, check || 'waiting for the check after the action')]
      : null,
  );
}

function card(a, ctx, evidenceCache, onDecided) {
  const mayDecide = ctx.hasRole(...a.approvers);
  const evidenceList = h(
    'ul',
    { class: 'evidence-ids' },
    a.evidence_ids.map((id) => {
      const b = h('button', { type: 'button', class: 'cite' }, id);
      b.addEventListener('click', async () => showEvidence(id, await threadEvidence(a.thread_id, evidenceCache)));
      return h('li', {}, b);
    }),
  );
  const el = h(
    'article',
    { class: 'card approval', 'aria-labelledby': `ap-${a.approval_id}` },
    h('h2', { id: `ap-${a.approval_id}` }, a.summary),
    h(
      'p',
      { class: 'muted' },
      `${a.action} (${params(a.params)}) · risk ${a.risk} · proposed by ${a.agent} · expires ${when(a.expires_at)}`,
    ),
    h('p', {}, h('strong', {}, 'Reason: '), a.reason),
    a.evidence_ids.length ? [h('h3', {}, 'Evidence'), evidenceList] : null,
    h('p', { class: 'muted' }, 'Thread: ', link(['chat', a.thread_id], a.thread_id)),
  );
  if (!mayDecide) {
    el.append(h('p', { class: 'readonly' }, `Read only: deciding needs the role ${a.approvers.join(' or ')}.`));
    return el;
  }
  const comment = h('textarea', { rows: 2, maxlength: 1000 });
  const approve = h('button', { type: 'button', class: 'approve' }, 'Approve');
  const reject = h('button', { type: 'button', class: 'reject' }, 'Reject');
  const log = h('ol', { class: 'steps', 'aria-live': 'polite' });
  const decide = async (decision) => {
    approve.disabled = reject.disabled = true;
    replace(log);
    let final = null;
    try {
      await stream(
        `v1/threads/${encodeURIComponent(a.thread_id)}/approvals/${encodeURIComponent(a.approval_id)}`,
        { decision, ...(comment.value.trim() ? { comment: comment.value.trim() } : {}) },
        ({ event, data }) => {
          if (event === 'approval.decided')
            log.append(h('li', {}, `${data.by} ${data.decision === 'approve' ? 'approved' : 'rejected'} at ${when(data.at)}`));
          else if (event === 'action.result')
            log.append(h('li', {}, `Control plane: ${data.status}${data.http_status ? ` (${data.http_status})` : ''} — ${data.message}`));
          else if (event === 'answer') final = data.approval;
          else if (event === 'error') log.append(h('li', { class: 'error' }, data.detail || data.title));
        },
      );
    } catch (err) {
      log.append(h('li', {}, failure(err)));
    }
    if (final) {
      el.querySelector('.decide')?.remove();
      el.append(outcome(final));
      onDecided();
    } else approve.disabled = reject.disabled = false;
  };
  approve.addEventListener('click', () => decide('approve'));
  reject.addEventListener('click', () => decide('reject'));
  el.append(h('div', { class: 'decide' }, field('Comment (optional)', comment), h('div', { class: 'buttons' }, approve, reject)), log);
  return el;
}

export async function render(main, ctx) {
  const pending = h('div', { class: 'cards' });
  const decided = h('div', { class: 'cards' });
  const refresh = h('button', { type: 'button' }, 'Refresh');
  replace(
    main,
    h('h1', {}, 'Approvals'),
    h('div', { class: 'toolbar' }, refresh),
    h('section', { 'aria-labelledby': 'pending-title' }, h('h2', { id: 'pending-title' }, 'Waiting for a decision'), pending),
    h('section', { 'aria-labelledby': 'decided-title' }, h('h2', { id: 'decided-title' }, 'Recent decisions'), decided),
  );
  const evidenceCache = new Map();
  const loadDecided = async () => {
    try {
      const res = await api('v1/approvals?status=approved,rejected,sending,accepted,refused,failed,not_sent&limit=20');
      replace(
        decided,
        res.approvals.length
          ? res.approvals.map((a) =>
              h(
                'article',
                { class: 'card decided' },
                h('h3', {}, a.summary),
                h('p', { class: 'muted' }, `${a.action} (${params(a.params)})`),
                outcome(a),
              ),
            )
          : empty('No decisions yet.'),
      );
    } catch (err) {
      if (err.status !== 401) replace(decided, failure(err));
    }
  };
  const load = async () => {
    try {
      const res = await api('v1/approvals?status=pending');
      replace(
        pending,
        res.approvals.length
          ? res.approvals.map((a) => card(a, ctx, evidenceCache, loadDecided))
          : empty('Nothing is waiting for approval.'),
      );
    } catch (err) {
      if (err.status !== 401) replace(pending, failure(err));
    }
    await loadDecided();
  };
  refresh.addEventListener('click', load);
  await load();
  // The check after an action lands later: decisions are read again while the page is open.
  const timer = setInterval(loadDecided, 10_000);
  return () => clearInterval(timer);
}
