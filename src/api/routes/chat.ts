import { Hono, type Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import { requireScope } from '../middleware/auth.ts';
import { jsonBody, queryParams } from '../validate.ts';
import { Problem, problems } from '../../core/problem.ts';
import type { ChatEvent } from '../../core/events.ts';
import type { ChatService } from '../../conversations/chat.ts';
import type { Scope } from '../../core/scope.ts';
import type { ThreadRecord } from '../../storage/threads.ts';
import type { AppDeps } from '../deps.ts';
import type { AppEnv } from '../env.ts';

const Message = z.string().trim().min(1, 'the message is empty').max(4000, 'at most 4000 characters');
const ThreadId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'not a thread id');
const ChatRequest = z.object({ message: Message, thread_id: ThreadId.optional() }).strict();
const MessageRequest = z.object({ message: Message }).strict();
const ListQuery = z
  .object({
    kind: z.enum(['chat', 'alert']).optional(),
    status: z.enum(['open', 'firing', 'resolved']).optional(),
    limit: z.coerce.number().int().min(1).max(100).default(20),
    all: z.enum(['true', 'false']).optional(),
    workspace: z.string().optional(),
  })
  .strict();

const wantsStream = (c: Context) => (c.req.header('accept') ?? '').includes('text/event-stream');

/**
 * One chat turn on a thread, as JSON or as a stream of the service's own
 * events. A client that goes away cancels the run.
 */
async function answer(
  c: Context<AppEnv>,
  chat: ChatService,
  scope: Scope,
  thread: ThreadRecord,
  message: string,
  logger: AppDeps['logger'],
) {
  const release = await chat.claim(thread.id);
  c.set('eventAttributes', { thread_id: thread.id });
  if (!wantsStream(c)) {
    try {
      const result = await chat.turn(scope, thread, message, () => undefined, c.req.raw.signal);
      c.set('eventAttributes', {
        thread_id: thread.id,
        path: result.path,
        agents: result.agents.join(','),
        hypotheses: String(result.hypotheses.length),
      });
      return c.json(result);
    } finally {
      release();
    }
  }
  return streamSSE(c, async (stream) => {
    const controller = new AbortController();
    stream.onAbort(() => controller.abort());
    let writing: Promise<unknown> = Promise.resolve();
    let seq = 0;
    const emit = (e: ChatEvent) => {
      const id = String(++seq);
      writing = writing.then(() =>
        stream.aborted ? undefined : stream.writeSSE({ event: e.event, id, data: JSON.stringify({ v: 1, ...e.data }) }),
      );
    };
    try {
      await chat.turn(scope, thread, message, emit, controller.signal);
    } catch (err) {
      if (!controller.signal.aborted) {
        const p = err instanceof Problem ? err : problems.internal();
        if (!(err instanceof Problem))
          logger.error({ tracking_id: scope.trackingId, err: (err as Error).message, stack: (err as Error).stack }, 'chat turn failed');
        emit({ event: 'error', data: { type: `urn:hks-aiops:problem:${p.type}`, title: p.title, status: p.status, detail: p.detail } });
        emit({ event: 'done', data: { run_id: '' } });
      }
    } finally {
      release();
      await writing;
    }
  });
}

export function chatRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>();
  const chat = deps.chat;
  const scopeOf = (c: Context<AppEnv>): Scope => {
    const { principal, workspace } = requireScope(c);
    chat.authorise(principal);
    return { principal, workspace, trackingId: c.get('trackingId') };
  };
  const owned = (scope: Scope, t: ThreadRecord) => {
    if (t.kind === 'chat' && t.owner !== scope.principal.sub)
      throw problems.forbidden(`thread ${t.id} belongs to another user; start your own thread`);
    return t;
  };

  app.post('/chat', async (c) => {
    const scope = scopeOf(c);
    const body = await jsonBody(c, ChatRequest, deps.config.AIOPS_MAX_BODY_BYTES);
    const thread = body.thread_id ? owned(scope, await chat.thread(scope, body.thread_id)) : await chat.open(scope, body.message);
    return answer(c, chat, scope, thread, body.message, deps.logger);
  });

  app.post('/threads/:id/messages', async (c) => {
    const scope = scopeOf(c);
    const thread = owned(scope, await chat.thread(scope, c.req.param('id')));
    const body = await jsonBody(c, MessageRequest, deps.config.AIOPS_MAX_BODY_BYTES);
    return answer(c, chat, scope, thread, body.message, deps.logger);
  });

  app.get('/threads', async (c) => {
    const scope = scopeOf(c);
    const q = queryParams(c, ListQuery);
    return c.json({ threads: await chat.list(scope, { kind: q.kind, status: q.status, limit: q.limit, all: q.all === 'true' }) });
  });

  app.get('/threads/:id', async (c) => {
    const scope = scopeOf(c);
    return c.json(await chat.view(scope, c.req.param('id')));
  });
  return app;
}
