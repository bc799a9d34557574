import http from 'node:http';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { Ajv, type ValidateFunction } from 'ajv';
import { sharedDir } from './shared.ts';

// biome-ignore lint/suspicious/noExplicitAny: request bodies and OpenAPI documents are free-form JSON here
type Json = any;

/**
 * OpenAPI 3.0 schemas as JSON Schema for ajv: `nullable` becomes a null
 * type, the rest is kept. Unknown formats (uint, float) are not checked.
 */
function toJsonSchema(node: Json): Json {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (!node || typeof node !== 'object') return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node)) if (k !== 'nullable' && k !== 'example') out[k] = toJsonSchema(v);
  if (node.nullable === true) {
    if (typeof out.type === 'string') out.type = [out.type, 'null'];
    else if (Object.keys(out).length === 0 || (Object.keys(out).length === 1 && 'default' in out)) return { type: 'null' };
    else return { anyOf: [out, { type: 'null' }] };
  }
  return out;
}

interface Operation {
  method: string;
  template: string;
  regex: RegExp;
  names: string[];
  id: string;
  request?: ValidateFunction;
  response?: ValidateFunction;
}

let compiled: { ajv: Ajv; operations: Operation[] } | undefined;

/** Every operation of Qdrant's OpenAPI document, with validators for its request body and its 200 response. */
function loadSpec() {
  if (compiled) return compiled;
  const spec = JSON.parse(readFileSync(sharedDir('specs', 'qdrant', 'openapi-v1.19.json'), 'utf8'));
  const ajv = new Ajv({ strict: false, allErrors: false, validateFormats: false });
  ajv.addSchema({ $id: 'qdrant', components: toJsonSchema(spec.components) });
  const fix = (schema: Json) => JSON.parse(JSON.stringify(toJsonSchema(schema)).replace(/"#\/components\//g, '"qdrant#/components/'));
  const operations: Operation[] = [];
  for (const [template, ops] of Object.entries<Json>(spec.paths)) {
    for (const [method, op] of Object.entries<Json>(ops)) {
      if (!['get', 'put', 'post', 'delete', 'patch'].includes(method)) continue;
      const names: string[] = [];
      const regex = new RegExp(
        `^${template.replace(/\{([^}]+)\}/g, (_, n) => {
          names.push(n);
          return '([^/]+)';
        })}$`,
      );
      const req = op.requestBody?.content?.['application/json']?.schema;
      const res = op.responses?.['200']?.content?.['application/json']?.schema;
      operations.push({
        method: method.toUpperCase(),
        template,
        regex,
        names,
        id: op.operationId,
        ...(req ? { request: ajv.compile(fix(req)) } : {}),
        ...(res ? { response: ajv.compile(fix(res)) } : {}),
      });
    }
  }
  // Literal paths before templated ones (/collections/{name}/points/query before /points/{id}).
  operations.sort((a, b) => a.names.length - b.names.length);
  compiled = { ajv, operations };
  return compiled;
}

interface Point {
  id: string | number;
  vector: Record<string, number[] | { indices: number[]; values: number[] }>;
  payload: Record<string, unknown>;
}
interface Collection {
  config: Json;
  points: Map<string, Point>;
  indexes: Record<string, string>;
}

export interface RecordedRequest {
  operation: string;
  method: string;
  path: string;
  query: Record<string, string>;
  body: Json;
}

const valueAt = (payload: Json, key: string) => key.split('.').reduce((o, k) => (o == null ? undefined : o[k]), payload);

function matches(p: Point, cond: Json): boolean {
  if (cond.has_id) return cond.has_id.map(String).includes(String(p.id));
  if (cond.must || cond.should || cond.must_not) return filterOk(p, cond);
  const v = valueAt(p.payload, cond.key);
  const values = Array.isArray(v) ? v : [v];
  if ('value' in (cond.match ?? {})) return values.includes(cond.match.value);
  if (cond.match?.any) return values.some((x) => cond.match.any.includes(x));
  if (cond.match?.except) return !values.some((x) => cond.match.except.includes(x));
  throw new Error(`condition not supported by the test server: ${JSON.stringify(cond)}`);
}

function filterOk(p: Point, f: Json): boolean {
  if (!f) return true;
  const list = (x: Json) => (x == null ? [] : Array.isArray(x) ? x : [x]);
  if (!list(f.must).every((c) => matches(p, c))) return false;
  if (list(f.must_not).some((c) => matches(p, c))) return false;
  const should = list(f.should);
  return should.length === 0 || should.some((c) => matches(p, c));
}

function cosine(a: number[], b: number[]): number {
  let d = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na && nb ? d / Math.sqrt(na * nb) : 0;
}

/**
 * A small server that follows Qdrant's REST API closely enough for the
 * service's use of it: collections with named dense and sparse vectors (IDF
 * modifier), payload indexes, upsert/retrieve/scroll/delete, and the query
 * API with filters, prefetches and RRF fusion. Every request body and every
 * response is validated against Qdrant's OpenAPI document; a request that
 * does not validate gets a 400 as from Qdrant and is counted in `invalid`.
 */
export async function qdrantServer() {
  const { operations } = loadSpec();
  const collections = new Map<string, Collection>();
  const requests: RecordedRequest[] = [];
  const invalid: { operation: string; errors: string }[] = [];
  const responseErrors: { operation: string; errors: string }[] = [];
  let down = false;

  const idf = (c: Collection, name: string, index: number) => {
    const n = c.points.size;
    let df = 0;
    for (const p of c.points.values()) {
      const v = p.vector[name] as { indices: number[] } | undefined;
      if (v?.indices?.includes(index)) df++;
    }
    return Math.log((n - df + 0.5) / (df + 0.5) + 1);
  };

  /** Candidates of one query level: nearest by a dense or sparse vector, or fusion of prefetches. */
  const run = (c: Collection, q: Json): { point: Point; score: number }[] => {
    const limit = q.limit ?? 10;
    const prefetches = q.prefetch == null ? [] : Array.isArray(q.prefetch) ? q.prefetch : [q.prefetch];
    const filtered = [...c.points.values()].filter((p) => filterOk(p, q.filter));
    if (prefetches.length) {
      const lists = prefetches.map((pf: Json) => run(c, pf));
      const query = q.query;
      const k = query?.rrf?.k ?? 60;
      const weights: number[] | undefined = query?.rrf?.weights ?? undefined;
      if (!(query?.fusion === 'rrf' || query?.rrf)) throw new Error('only RRF fusion over prefetches is supported by the test server');
      const scores = new Map<string, { point: Point; score: number }>();
      for (const [i, list] of (lists as { point: Point }[][]).entries()) {
        for (const [rank, { point }] of list.entries()) {
          const key = String(point.id);
          const prev = scores.get(key) ?? { point, score: 0 };
          prev.score += (weights?.[i] ?? 1) / (k + rank + 1);
          scores.set(key, prev);
        }
      }
      return [...scores.values()]
        .filter((s) => filterOk(s.point, q.filter))
        .sort((a, b) => b.score - a.score)
        .slice(0, limit);
    }
    const query = q.query?.nearest ?? q.query;
    const using = q.using ?? '';
    if (Array.isArray(query)) {
      return filtered
        .filter((p) => Array.isArray(p.vector[using]))
        .map((p) => ({ point: p, score: cosine(query, p.vector[using] as number[]) }))
        .sort((a, b) => b.score - a.score)
        .slice(0, limit);
    }
    if (query && Array.isArray(query.indices)) {
      const modifier = c.config.sparse_vectors?.[using]?.modifier;
      const out: { point: Point; score: number }[] = [];
      for (const p of filtered) {
        const v = p.vector[using] as { indices: number[]; values: number[] } | undefined;
        if (!v) continue;
        let score = 0;
        let overlap = false;
        query.indices.forEach((idx: number, i: number) => {
          const j = v.indices.indexOf(idx);
          if (j < 0) return;
          overlap = true;
          score += query.values[i] * v.values[j]! * (modifier === 'idf' ? idf(c, using, idx) : 1);
        });
        if (overlap) out.push({ point: p, score });
      }
      return out.sort((a, b) => b.score - a.score).slice(0, limit);
    }
    throw new Error(`query not supported by the test server: ${JSON.stringify(q.query)}`);
  };

  const view = (p: Point, withPayload: Json, withVector: Json) => {
    let payload: Json = null;
    if (withPayload === true || withPayload === undefined) payload = p.payload;
    else if (Array.isArray(withPayload))
      payload = Object.fromEntries(withPayload.filter((k: string) => k in p.payload).map((k: string) => [k, p.payload[k]]));
    return { id: p.id, payload, ...(withVector ? { vector: p.vector } : {}) };
  };

  const handle = (op: Operation, params: Record<string, string>, body: Json): { status: number; result?: Json; error?: string } => {
    const name = params.collection_name!;
    const c = collections.get(name);
    const need = () => {
      if (!c) throw Object.assign(new Error(`Not found: Collection \`${name}\` doesn't exist!`), { status: 404 });
      return c;
    };
    switch (op.id) {
      case 'root':
        return { status: 200, result: undefined };
      case 'get_collections':
        return { status: 200, result: { collections: [...collections.keys()].map((n) => ({ name: n })) } };
      case 'collection_exists':
        return { status: 200, result: { exists: collections.has(name) } };
      case 'create_collection':
        if (c) return { status: 409, error: `Wrong input: Collection \`${name}\` already exists!` };
        collections.set(name, { config: body, points: new Map(), indexes: {} });
        return { status: 200, result: true };
      case 'get_collection': {
        const col = need();
        return {
          status: 200,
          result: {
            status: 'green',
            optimizer_status: 'ok',
            segments_count: 1,
            points_count: col.points.size,
            indexed_vectors_count: 0,
            config: {
              params: {
                vectors: col.config.vectors ?? {},
                ...(col.config.sparse_vectors ? { sparse_vectors: col.config.sparse_vectors } : {}),
                shard_number: 1,
                replication_factor: 1,
                write_consistency_factor: 1,
                on_disk_payload: true,
              },
              hnsw_config: { m: 16, ef_construct: 100, full_scan_threshold: 10000 },
              optimizer_config: { default_segment_number: 0, flush_interval_sec: 5 },
            },
            payload_schema: Object.fromEntries(
              Object.entries(col.indexes).map(([field, type]) => [field, { data_type: type, points: col.points.size }]),
            ),
          },
        };
      }
      case 'create_field_index': {
        const col = need();
        col.indexes[body.field_name] = typeof body.field_schema === 'string' ? body.field_schema : body.field_schema.type;
        return { status: 200, result: { operation_id: 1, status: 'completed' } };
      }
      case 'upsert_points': {
        const col = need();
        if (!body.points) return { status: 400, error: 'batch upserts are not supported by the test server' };
        for (const p of body.points) {
          const vector = Array.isArray(p.vector) ? { '': p.vector } : p.vector;
          for (const [vname, v] of Object.entries<Json>(vector)) {
            const dense = (vname === '' ? col.config.vectors : col.config.vectors?.[vname]) as { size?: number } | undefined;
            if (Array.isArray(v) && dense?.size !== v.length)
              return { status: 400, error: `Wrong input: Vector dimension error: expected dim: ${dense?.size}, got ${v.length}` };
            if (!Array.isArray(v) && !col.config.sparse_vectors?.[vname])
              return { status: 400, error: `Wrong input: Not existing vector name error: ${vname}` };
          }
          col.points.set(String(p.id), { id: p.id, vector, payload: p.payload ?? {} });
        }
        return { status: 200, result: { operation_id: 1, status: 'completed' } };
      }
      case 'get_points': {
        const col = need();
        const withPayload = body.with_payload;
        return {
          status: 200,
          result: body.ids
            .map(String)
            .filter((id: string) => col.points.has(id))
            .map((id: string) => view(col.points.get(id)!, withPayload, body.with_vector)),
        };
      }
      case 'scroll_points': {
        const col = need();
        const all = [...col.points.values()]
          .filter((p) => filterOk(p, body.filter))
          .sort((a, b) => String(a.id).localeCompare(String(b.id)));
        const start = body.offset != null ? all.findIndex((p) => String(p.id) >= String(body.offset)) : 0;
        const limit = body.limit ?? 10;
        const page = start < 0 ? [] : all.slice(start, start + limit);
        const next = start >= 0 && all[start + limit] ? all[start + limit]!.id : null;
        return { status: 200, result: { points: page.map((p) => view(p, body.with_payload, body.with_vector)), next_page_offset: next } };
      }
      case 'delete_points': {
        const col = need();
        if (body.points) for (const id of body.points) col.points.delete(String(id));
        else for (const [id, p] of col.points) if (filterOk(p, body.filter)) col.points.delete(id);
        return { status: 200, result: { operation_id: 1, status: 'completed' } };
      }
      case 'query_points': {
        const col = need();
        const hits = run(col, body).slice(body.offset ?? 0);
        return {
          status: 200,
          result: {
            points: hits.map((h) => ({ ...view(h.point, body.with_payload ?? false, body.with_vector), score: h.score, version: 1 })),
          },
        };
      }
      default:
        return { status: 501, error: `the test server does not implement ${op.id}` };
    }
  };

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const send = (status: number, payload: Json) => {
      res.statusCode = status;
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify(payload));
    };
    if (down) {
      res.statusCode = 503;
      return void res.end('service unavailable');
    }
    if (url.pathname === '/readyz') return void res.end('all shards are ready');
    const op = operations.find((o) => o.method === req.method && o.regex.test(url.pathname));
    if (!op) return send(404, { status: { error: `no route ${req.method} ${url.pathname}` }, time: 0 });
    const m = op.regex.exec(url.pathname)!;
    const params = Object.fromEntries(op.names.map((n, i) => [n, decodeURIComponent(m[i + 1]!)]));
    let body: Json;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      return send(400, { status: { error: 'Format error in JSON body' }, time: 0 });
    }
    requests.push({ operation: op.id, method: req.method!, path: url.pathname, query: Object.fromEntries(url.searchParams), body });
    if (op.request && !op.request(body)) {
      const errors = JSON.stringify(op.request.errors?.slice(0, 3));
      invalid.push({ operation: op.id, errors });
      return send(400, { status: { error: `Format error in JSON body: ${errors}` }, time: 0 });
    }
    try {
      const out = handle(op, params, body);
      if (out.error) return send(out.status, { status: { error: out.error }, time: 0.0001 });
      const payload = { result: out.result, status: 'ok', time: 0.0001 };
      if (op.response && !op.response(payload))
        responseErrors.push({ operation: op.id, errors: JSON.stringify(op.response.errors?.slice(0, 3)) });
      send(200, payload);
    } catch (err) {
      send((err as { status?: number }).status ?? 500, { status: { error: (err as Error).message }, time: 0 });
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    collections,
    requests,
    /** Requests whose body did not validate against the OpenAPI document. */
    invalid,
    /** Responses of this server that did not validate (a bug in the test server). */
    responseErrors,
    setDown(value: boolean) {
      down = value;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
