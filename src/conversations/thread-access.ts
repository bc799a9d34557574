import { randomUUID } from 'node:crypto';
import { problems } from '../core/problem.ts';
import { hasRole, type Principal, type Scope } from '../core/scope.ts';
import type { Policies } from '../policies/schema.ts';
import { encodeCursor, type ThreadCursor, type ThreadIndex, type ThreadRecord } from '../storage/threads.ts';

/**
 * Who may see, list, open and continue threads: a thread belongs to its
 * workspace (404 from any other) and a chat thread to its owner (403 for
 * another person without a role that reads others' threads).
 */
export class ThreadAccess {
  constructor(
    private readonly threads: ThreadIndex,
    private readonly policy: Policies['routing'],
  ) {}

  /** Checks the caller may chat at all. */
  authorise(principal: Principal): void {
    const roles = this.policy.chat_roles;
    if (!hasRole(principal, ...roles)) throw problems.forbidden(`chat needs one of the roles ${roles.join(', ')}`);
  }

  /** Checks the caller may read threads: a chat role (own and alert threads) or a role that reads others' (any of them). */
  authoriseReading(principal: Principal): void {
    const roles = [...this.policy.chat_roles, ...this.policy.read_others_roles];
    if (!hasRole(principal, ...roles))
      throw problems.forbidden(`reading threads needs one of the roles ${roles.join(', ')}${held(principal)}`);
  }

  /** A thread the caller may see: 404 outside the workspace, 403 for another user's without the role. */
  async thread(scope: Scope, id: string): Promise<ThreadRecord> {
    const t = /^[A-Za-z0-9_-]{1,64}$/.test(id) ? await this.threads.get(id) : undefined;
    if (!t || t.workspace !== scope.workspace) throw problems.notFound(`there is no thread ${id} in workspace ${scope.workspace}`);
    if (t.owner !== scope.principal.sub && t.kind === 'chat' && !hasRole(scope.principal, ...this.policy.read_others_roles)) {
      throw problems.forbidden(
        `thread ${id} belongs to another user; reading it needs the role ${this.policy.read_others_roles.join(' or ')}${held(scope.principal)}`,
      );
    }
    return t;
  }

  /** A page of the threads the caller may list, newest change first; `next_cursor` names where the next page starts. */
  async list(
    scope: Scope,
    q: { kind?: ThreadRecord['kind']; status?: ThreadRecord['status']; limit: number; all?: boolean; after?: ThreadCursor },
  ): Promise<{ threads: ThreadRecord[]; next_cursor: string | null }> {
    const others = q.all && hasRole(scope.principal, ...this.policy.read_others_roles);
    const rows = await this.threads.list({
      workspace: scope.workspace,
      owner: others || q.kind === 'alert' ? undefined : scope.principal.sub,
      kind: q.kind,
      status: q.status,
      limit: q.limit + 1,
      ...(q.after ? { after: q.after } : {}),
    });
    const threads = rows.slice(0, q.limit);
    return { threads, next_cursor: rows.length > q.limit ? encodeCursor(threads.at(-1)!) : null };
  }

  /** A new thread owned by the caller. */
  async open(scope: Scope, title: string, extra: Partial<ThreadRecord> = {}): Promise<ThreadRecord> {
    const now = new Date().toISOString();
    const t: ThreadRecord = {
      id: randomUUID(),
      workspace: scope.workspace,
      owner: scope.principal.sub,
      title: title.replace(/\s+/g, ' ').trim().slice(0, 120),
      kind: 'chat',
      status: 'open',
      created_at: now,
      updated_at: now,
      turns: 0,
      last_path: null,
      alert_key: null,
      ...extra,
    };
    await this.threads.create(t);
    return t;
  }
}

const held = (p: Principal) => `; the token has ${p.roles.length ? p.roles.join(', ') : 'no roles'}`;
