import { Hono } from 'hono';
import { z } from 'zod';
import { requireScope } from '../middleware/auth.ts';
import { jsonBody, queryParams } from '../validate.ts';
import { problems } from '../../core/problem.ts';
import { DocumentError } from '../../knowledge/markdown.ts';
import { AlertName } from '../../tools/knowledge/search-runbooks.ts';
import type { AppDeps } from '../deps.ts';
import type { AppEnv } from '../env.ts';

export const KNOWLEDGE_ADMIN = 'knowledge-admin';
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
  .strict();

const SearchQuery = z
  .object({
    q: z.string().trim().min(1, 'give a query').max(500, 'at most 500 characters'),
    alertname: AlertName.optional(),
    k: z.coerce.number().int().min(1).max(20).default(5),
    mode: z.enum(['hybrid', 'lexical', 'dense']).default('hybrid'),
    workspace: z.string().optional(),
  })
  .strict();

/** Runbook search for everyone who may chat; documents managed by knowledge admins, per workspace. */
export function knowledgeRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>();
  const kb = deps.knowledge;
  const readers = [...deps.policies.routing.chat_roles, KNOWLEDGE_ADMIN];

  app.get('/runbooks/search', async (c) => {
    const { workspace } = requireScope(c, ...readers);
    const q = queryParams(c, SearchQuery);
    const result = await kb.searchRunbooks(workspace, q.q, { k: q.k, alertname: q.alertname, mode: q.mode });
    c.set('eventAttributes', { backend: result.backend, hits: String(result.hits.length) });
    return c.json({
      query: q.q,
      ...(q.alertname ? { alertname: q.alertname } : {}),
      mode: q.mode,
      backend: result.backend,
      dense: result.dense,
      notes: result.notes,
      hits: result.hits,
    });
  });

  app.get('/knowledge', (c) => {
    requireScope(c, ...readers);
    return c.json(kb.status());
  });

  app.get('/knowledge/documents', async (c) => {
    const { workspace } = requireScope(c, ...readers);
    return c.json({ workspace, documents: await kb.listDocuments(workspace) });
  });

  app.post('/knowledge/documents', async (c) => {
    const { workspace, principal } = requireScope(c, KNOWLEDGE_ADMIN);
    const body = await jsonBody(c, PutDocuments, deps.config.AIOPS_MAX_BODY_BYTES);
    try {
      const result = await kb.putDocuments(workspace, principal.sub, body.documents);
      c.set('eventAttributes', {
        documents: String(body.documents.length),
        changed: String(result.changes.filter((x) => x.status !== 'unchanged').length),
      });
      return c.json({ workspace, ...result });
    } catch (err) {
      if (err instanceof DocumentError) {
        const i = (err as DocumentError & { index?: number }).index ?? 0;
        throw problems.validation('a document cannot be indexed; nothing was written', [
          { field: `documents[${i}].markdown`, message: err.reason },
        ]);
      }
      throw err;
    }
  });

  app.delete('/knowledge/documents/*', async (c) => {
    const { workspace, principal } = requireScope(c, KNOWLEDGE_ADMIN);
    const raw = decodeURIComponent(c.req.path.replace(/^.*?\/knowledge\/documents\//, ''));
    const parsed = DocumentPath.safeParse(raw);
    if (!parsed.success) throw problems.validation('not a document path', [{ field: 'path', message: parsed.error.issues[0]!.message }]);
    const result = await kb.deleteDocument(workspace, parsed.data, principal.sub);
    if (!result.deleted) throw problems.notFound(`there is no document ${parsed.data} in workspace ${workspace}`);
    return c.json({ workspace, path: parsed.data, deleted: true, notes: result.notes });
  });

  return app;
}
