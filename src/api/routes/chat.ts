import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { streamSSE } from 'hono/streaming';
import { requireScope, type ScopedEnv } from '../middleware/auth.ts';
import { jsonBody } from '../body.ts';
import { bearerAuth, json, jsonRequest, problemResponses, router, workspaceHeader } from '../openapi.ts';
import { ChatAnswer, ChatStream, Thread, ThreadView } from '../schemas.ts';
import { Problem, problems } from '../../core/problem.ts';
import type { ChatService } from '../../conversations/chat.ts';
import type { Scope } from '../../core/scope.ts';
import { decodeCursor, type ThreadRecord } from '../../storage/threads.ts';
import type { AppDeps } from '../deps.ts';
import type { AppEnv, AppVariables } from '../env.ts';
import { eventWriter } from '../sse.ts';

const Message = z.string().trim().min(1, 'the message is empty').max(4000, 'at most 4000 characters');
const ThreadId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'not a thread id');
const ChatRequest = z.object({ message: Message, thread_id: ThreadId.optional() }).strict().openapi('ChatRequest');
const MessageRequest = z.object({ message: Message }).strict().openapi('MessageRequest');
const ListQuery = z
  .object({
    kind: z.enum(['chat', 'alert']).optional(),
    status: z.enum(['open', 'firing', 'resolved']).optional(),
    limit: z.coerce.number().int().min(1).max(100).default(20),
    all: z.enum(['true', 'false']).optional(),
    workspace: z.string().optional(),
    cursor: z.string().max(512).optional().openapi({ description: 'Where the page starts: the `next_cursor` of the page before' }),
  })
  .strict();
/** Not validated here: an id that is not one names no thread (404, from the chat service). */
const ThreadParams = z.object({ id: z.string().openapi({ description: 'A thread id' }) });

const turnResponses = {
  200: {
    description: 'The answer; with `Accept: text/event-stream`, the turn as Server-Sent Events',
    content: { ...json(ChatAnswer), 'text/event-stream': { schema: ChatStream } },
  },
  ...problemResponses(400, 401, 403, 404, 409, 413, 415, 503),
};

const wantsStream = (c: Context) => (c.req.header('accept') ?? '').includes('text/event-stream');

/**
 * One chat turn on a thread, as JSON or as a stream of the service's own
 * events. A client that goes away cancels the run.
 */
async function answer<E extends AppEnv>(
  c: Context<E>,
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
      return c.json(result, 200);
    } finally {
      release();
    }
  }
  return streamSSE(c, async (stream) => {
    const controller = new AbortController();
    stream.onAbort(() => controller.abort());
    const { emit, flushed } = eventWriter(stream);
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
      await flushed();
    }
  });
}

/** Route middleware: the caller's scope, for someone who may chat. */
const chatScope = (chat: ChatService) =>
  createMiddleware<ScopedEnv>(async (c, next) => {
    const scope = requireScope(c);
    chat.authorise(scope.principal);
    c.set('scope', scope);
    await next();
  });

/** Route middleware: the caller's scope, for someone who may read threads (a chat role, or one that reads others'). */
const readScope = (chat: ChatService) =>
  createMiddleware<ScopedEnv>(async (c, next) => {
    const scope = requireScope(c);
    chat.access.authoriseReading(scope.principal);
    c.set('scope', scope);
    await next();
  });

/** Only the owner continues a chat thread; alert threads are open to the workspace. */
const owned = (scope: Scope, t: ThreadRecord) => {
  if (t.kind === 'chat' && t.owner !== scope.principal.sub)
    throw problems.forbidden(`thread ${t.id} belongs to another user; start your own thread`);
  return t;
};

/** POST /v1/chat: a turn on a new thread, or on one of the caller's. */
export function chatRoutes(deps: AppDeps) {
  const app = router();
  const chat = deps.chat;
  const turn = createRoute({
    method: 'post',
    path: '/',
    tags: ['chat'],
    operationId: 'chat',
    summary: "One chat turn: on a new thread, or on the caller's thread_id",
    security: bearerAuth,
    parameters: workspaceHeader,
    middleware: [chatScope(chat), jsonBody(deps.config.AIOPS_MAX_BODY_BYTES)] as const,
    request: { body: jsonRequest(ChatRequest) },
    responses: turnResponses,
  });
  app.openapi(turn, async (c) => {
    const scope = c.var.scope;
    const body = c.req.valid('json');
    const thread = body.thread_id ? owned(scope, await chat.thread(scope, body.thread_id)) : await chat.open(scope, body.message);
    return answer(c, chat, scope, thread, body.message, deps.logger);
  });
  return app;
}

/** /v1/threads: the caller's threads, one thread, a follow-up turn. */
export function threadRoutes(deps: AppDeps) {
  const app = router();
  const chat = deps.chat;
  const scoped = chatScope(chat);
  const reader = readScope(chat);
  // Named from the policy, so the description says what the service does.
  const readOthers = deps.policies.routing.read_others_roles.join(' or ');
  const ownThread = createMiddleware<{ Variables: AppVariables & { scope: Scope; thread: ThreadRecord } }>(async (c, next) => {
    c.set('thread', owned(c.var.scope, await chat.thread(c.var.scope, c.req.param('id') ?? '')));
    await next();
  });

  const list = createRoute({
    method: 'get',
    path: '/',
    tags: ['threads'],
    operationId: 'listThreads',
    summary: "The caller's threads; with kind=alert, the workspace's alert threads",
    description: `Needs a chat role, or ${readOthers}; with all=true and ${readOthers}, other users' threads too.`,
    security: bearerAuth,
    parameters: workspaceHeader,
    middleware: [reader] as const,
    request: { query: ListQuery },
    responses: {
      200: {
        description: 'The threads, newest change first; `next_cursor` (null on the last page) asks for the next page',
        content: json(z.object({ threads: z.array(Thread), next_cursor: z.string().nullable() })),
      },
      ...problemResponses(400, 401, 403),
    },
  });
  const view = createRoute({
    method: 'get',
    path: '/{id}',
    tags: ['threads'],
    operationId: 'getThread',
    summary: "A thread's messages, each answer's metadata, its evidence and approvals",
    description: `Chat threads are the owner's; ${readOthers} may read anyone's in the workspace, with no chat role.`,
    security: bearerAuth,
    parameters: workspaceHeader,
    middleware: [reader] as const,
    request: { params: ThreadParams },
    responses: { 200: { description: 'The thread', content: json(ThreadView) }, ...problemResponses(401, 403, 404) },
  });
  const followUp = createRoute({
    method: 'post',
    path: '/{id}/messages',
    tags: ['threads'],
    operationId: 'postThreadMessage',
    summary: 'A follow-up turn on a thread (the owner only)',
    security: bearerAuth,
    parameters: workspaceHeader,
    middleware: [scoped, ownThread, jsonBody(deps.config.AIOPS_MAX_BODY_BYTES)] as const,
    request: { params: ThreadParams, body: jsonRequest(MessageRequest) },
    responses: turnResponses,
  });

  app.openapi(list, async (c) => {
    const q = c.req.valid('query');
    const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
    if (q.cursor !== undefined && !after)
      throw problems.validation('the cursor is not one this service gave', [
        { field: 'cursor', message: 'not a cursor this service gave' },
      ]);
    const page = await chat.list(c.var.scope, { kind: q.kind, status: q.status, limit: q.limit, all: q.all === 'true', after });
    return c.json(page, 200);
  });
  app.openapi(view, async (c) => c.json(await chat.view(c.var.scope, c.req.valid('param').id), 200));
  app.openapi(followUp, async (c) => answer(c, chat, c.var.scope, c.var.thread, c.req.valid('json').message, deps.logger));
  return app;
}
