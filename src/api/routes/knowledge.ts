import { createRoute, z } from '@hono/zod-openapi';
import { scoped } from '../middleware/auth.ts';
import { jsonBody } from '../body.ts';
import { bearerAuth, json, jsonRequest, problemResponses, router, workspaceHeader } from '../openapi.ts';
import { SectionHit } from '../schemas.ts';
import { problems } from '../../core/problem.ts';
import { DocumentError } from '../../knowledge/markdown.ts';
import { AlertName } from '../../tools/knowledge/search-runbooks.ts';
import type { AppDeps } from '../deps.ts';

const KNOWLEDGE_ADMIN = 'knowledge-admin';
/** One document's markdown at most (a runbook is a few KiB). */
export const MAX_DOCUMENT_BYTES = 256 * 1024;
export const MAX_DOCUMENTS_PER_REQUEST = 100;

/** A document path: relative, forward slashes, no `..`, ending in .md. */
export const DocumentPath = z
  .string()
  .max(300, 'at most 300 characters')
  .regex(
    /^[A-Za-z0-9_][A-Za-z0-9_.\- ]*(\/[A-Za-z0-9_][A-Za-z0-9_.\- ]*)*\.(md|markdown)$/,
    'expected a relative path of letters, digits, "_", "-", "." and "/" ending in .md',
  )
  .refine((p) => !p.split('/').some((seg) => seg === '..' || seg === '.'), 'may not contain "." or ".." segments');

const PutDocuments = z
  .object({
    documents: z
      .array(
        z
          .object({
            path: DocumentPath,
            markdown: z
              .string()
              .min(1, 'the document is empty')
              .refine((m) => Buffer.byteLength(m) <= MAX_DOCUMENT_BYTES, `at most ${MAX_DOCUMENT_BYTES / 1024} KiB per document`),
          })
          .strict(),
      )
      .min(1, 'give at least one document')
      .max(MAX_DOCUMENTS_PER_REQUEST, `at most ${MAX_DOCUMENTS_PER_REQUEST} documents per request`)
      .superRefine((docs, ctx) => {
        const seen = new Set<string>();
        docs.forEach((d, i) => {
          if (seen.has(d.path)) ctx.addIssue({ code: 'custom', path: [i, 'path'], message: `the path ${d.path} appears twice` });
          seen.add(d.path);
        });
      }),
  })
  .strict()
  .openapi('PutDocuments');

const SearchQuery = z
  .object({
    q: z.string().trim().min(1, 'give a query').max(500, 'at most 500 characters'),
    alertname: AlertName.optional(),
    k: z.coerce.number().int().min(1).max(20).default(5),
    mode: z.enum(['hybrid', 'lexical', 'dense']).default('hybrid'),
    workspace: z.string().optional(),
  })
  .strict();

const Notes = z.array(z.string()).openapi({ description: 'Anything the reader should know (a degraded engine, no dense retrieval)' });
const DocumentChange = z.object({
  path: z.string(),
  status: z.enum(['added', 'updated', 'unchanged', 'deleted', 'skipped']),
  sections: z.number().int(),
  hash: z.string(),
});
const DocumentInfo = z.object({
  workspace: z.string(),
  path: z.string(),
  version: z.number().int(),
  updated_at: z.string(),
  updated_by: z.string(),
  deleted: z.boolean(),
  hash: z.string(),
});
const KnowledgeStatus = z
  .object({
    sections: z.number().int(),
    runbooks: z.number().int(),
    incidents: z.number().int(),
    dense: z.boolean(),
    vectors: z.number().int(),
    backend: z.enum(['qdrant', 'embedded']),
    qdrant: z.record(z.string(), z.unknown()).optional(),
  })
  .openapi('KnowledgeStatus');

/** /v1/runbooks: runbook and document search, for everyone who may chat. */
export function runbookRoutes(deps: AppDeps) {
  const app = router();
  const kb = deps.knowledge;
  const search = createRoute({
    method: 'get',
    path: '/search',
    tags: ['runbooks'],
    operationId: 'searchRunbooks',
    summary: 'Runbook and document sections of the workspace for a query, with title, path, anchor and a snippet',
    security: bearerAuth,
    parameters: workspaceHeader,
    middleware: [scoped(...deps.policies.routing.chat_roles, KNOWLEDGE_ADMIN)] as const,
    request: { query: SearchQuery },
    responses: {
      200: {
        description: 'The hits, best first',
        content: json(
          z.object({
            query: z.string(),
            alertname: z.string().optional(),
            mode: z.enum(['hybrid', 'lexical', 'dense']),
            backend: z.enum(['qdrant', 'embedded']),
            dense: z.boolean(),
            notes: Notes,
            no_match: z.boolean().openapi({ description: 'No hit is an exact or strong match: answers cite none of them' }),
            hits: z.array(SectionHit),
          }),
        ),
      },
      ...problemResponses(400, 401, 403, 503),
    },
  });
  app.openapi(search, async (c) => {
    const q = c.req.valid('query');
    const result = await kb.searchRunbooks(c.var.scope.workspace, q.q, { k: q.k, alertname: q.alertname, mode: q.mode });
    c.set('eventAttributes', { backend: result.backend, hits: String(result.hits.length) });
    return c.json(
      {
        query: q.q,
        ...(q.alertname ? { alertname: q.alertname } : {}),
        mode: q.mode,
        backend: result.backend,
        dense: result.dense,
        notes: result.notes,
        no_match: result.no_match,
        hits: result.hits,
      },
      200,
    );
  });
  return app;
}

/** /v1/knowledge: what is indexed, and the workspace's documents, managed by knowledge admins. */
export function knowledgeRoutes(deps: AppDeps) {
  const app = router();
  const kb = deps.knowledge;
  const readers = scoped(...deps.policies.routing.chat_roles, KNOWLEDGE_ADMIN);
  const admins = scoped(KNOWLEDGE_ADMIN);

  const status = createRoute({
    method: 'get',
    path: '/',
    tags: ['knowledge'],
    operationId: 'getKnowledgeStatus',
    summary: "What is indexed, which engine answers, whether dense vectors are on, Qdrant's state",
    security: bearerAuth,
    parameters: workspaceHeader,
    middleware: [readers] as const,
    responses: { 200: { description: 'The knowledge base', content: json(KnowledgeStatus) }, ...problemResponses(401, 403) },
  });
  const list = createRoute({
    method: 'get',
    path: '/documents',
    tags: ['knowledge'],
    operationId: 'listDocuments',
    summary: "The workspace's documents: path, version, who and when",
    security: bearerAuth,
    parameters: workspaceHeader,
    middleware: [readers] as const,
    responses: {
      200: {
        description: 'The documents',
        content: json(z.object({ workspace: z.string(), documents: z.array(DocumentInfo) })),
      },
      ...problemResponses(401, 403, 503),
    },
  });
  const put = createRoute({
    method: 'post',
    path: '/documents',
    tags: ['knowledge'],
    operationId: 'putDocuments',
    summary: `Add or replace markdown documents (up to ${MAX_DOCUMENTS_PER_REQUEST}, ${MAX_DOCUMENT_BYTES / 1024} KiB each)`,
    description: 'Every document is checked before any is written; a 400 names each failing one.',
    security: bearerAuth,
    parameters: workspaceHeader,
    middleware: [admins, jsonBody(deps.config.AIOPS_MAX_BODY_BYTES)] as const,
    request: { body: jsonRequest(PutDocuments) },
    responses: {
      200: {
        description: 'What changed',
        content: json(z.object({ workspace: z.string(), changes: z.array(DocumentChange), notes: Notes })),
      },
      ...problemResponses(400, 401, 403, 413, 415, 503),
    },
  });
  // The path spans segments (a/b.md), which a {name} parameter of createRoute does not: the route is
  // registered with Hono's own pattern, and described for OpenAPI with the same request and responses.
  const remove = createRoute({
    method: 'delete',
    path: '/documents/{path}',
    tags: ['knowledge'],
    operationId: 'deleteDocument',
    summary: 'Remove a document of the workspace',
    security: bearerAuth,
    parameters: workspaceHeader,
    request: {
      params: z.object({
        path: DocumentPath.openapi({ description: 'The document path; its slashes need no escaping', example: 'runbooks/dns.md' }),
      }),
    },
    responses: {
      200: {
        description: 'Removed',
        content: json(z.object({ workspace: z.string(), path: z.string(), deleted: z.literal(true), notes: Notes })),
      },
      ...problemResponses(400, 401, 403, 404, 503),
    },
  });

  app.openapi(status, (c) => c.json(kb.status(c.var.scope.workspace), 200));
  app.openapi(list, async (c) => {
    const { workspace } = c.var.scope;
    return c.json({ workspace, documents: await kb.listDocuments(workspace) }, 200);
  });
  app.openapi(put, async (c) => {
    const { workspace, principal } = c.var.scope;
    const body = c.req.valid('json');
    try {
      const result = await kb.putDocuments(workspace, principal.sub, body.documents);
      c.set('eventAttributes', {
        documents: String(body.documents.length),
        changed: String(result.changes.filter((x) => x.status !== 'unchanged').length),
      });
      return c.json({ workspace, ...result }, 200);
    } catch (err) {
      if (err instanceof DocumentError) {
        const i = (err as DocumentError & { index?: number }).index ?? 0;
        throw problems.validation('a document cannot be indexed; nothing was written', [
          { field: `documents[${i}].${err.field}`, message: err.reason },
        ]);
      }
      throw err;
    }
  });
  app.openAPIRegistry.registerPath(remove);
  app.delete('/documents/:path{.+}', admins, async (c) => {
    const { workspace, principal } = c.var.scope;
    const raw = decodeURIComponent(c.req.path.replace(/^.*?\/knowledge\/documents\//, ''));
    const parsed = DocumentPath.safeParse(raw);
    if (!parsed.success) throw problems.validation('not a document path', [{ field: 'path', message: parsed.error.issues[0]!.message }]);
    const result = await kb.deleteDocument(workspace, parsed.data, principal.sub);
    if (!result.deleted) throw problems.notFound(`there is no document ${parsed.data} in workspace ${workspace}`);
    return c.json({ workspace, path: parsed.data, deleted: true, notes: result.notes });
  });
  return app;
}
