import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { problems } from '../core/problem.ts';
import type { AppEnv } from './env.ts';

const gunzipAsync = promisify(gunzip);

interface JsonBody {
  value: unknown;
  /** The bytes as received (after decompression), e.g. for a dedup hash. */
  raw: Buffer;
}

/**
 * Reads a JSON body with a hard size limit (also after gzip), the right
 * Content-Type and a clear error for each way it can go wrong.
 */
export async function readJson(c: Context, limit: number, opts: { allowGzip?: boolean; mediaHint?: string } = {}): Promise<JsonBody> {
  const type = c.req.header('content-type')?.split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') {
    throw problems.unsupportedMediaType(type, ['application/json'], opts.mediaHint);
  }
  const declared = Number(c.req.header('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > limit) throw problems.tooLarge(limit);
  let raw = await readLimited(c.req.raw.body, limit);
  const encoding = c.req.header('content-encoding')?.trim().toLowerCase();
  if (encoding && encoding !== 'identity') {
    if (encoding !== 'gzip' || !opts.allowGzip) {
      throw problems.unsupportedMediaType(`Content-Encoding ${encoding}`, opts.allowGzip ? ['gzip or no encoding'] : ['no encoding']);
    }
    try {
      raw = await gunzipAsync(raw, { maxOutputLength: limit });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw problems.tooLarge(limit);
      throw problems.badRequest('the gzip body could not be decompressed');
    }
  }
  if (raw.length === 0) throw problems.validation('the request body is empty', [{ field: '(body)', message: 'expected a JSON document' }]);
  try {
    return { value: JSON.parse(raw.toString('utf8')), raw };
  } catch (err) {
    throw problems.validation('the request body is not valid JSON', [{ field: '(body)', message: (err as Error).message }]);
  }
}

/**
 * Route middleware for a JSON body validated by zod: readJson's checks run
 * first (413, 415, and 400 naming `(body)` when it is empty or not JSON),
 * then the bytes read become the request's body again, as hono/body-limit
 * does, for the validator to parse.
 */
export const jsonBody = (limit: number) =>
  createMiddleware<AppEnv>(async (c, next) => {
    const { raw } = await readJson(c, limit);
    c.req.raw = new Request(c.req.raw, { body: raw });
    await next();
  });

async function readLimited(body: ReadableStream<Uint8Array> | null, limit: number): Promise<Buffer> {
  if (!body) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw problems.tooLarge(limit);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size);
}
