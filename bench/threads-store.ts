/** bench/threads.ts's access to the file store (the "before" figures). */
import fs from 'node:fs';
import path from 'node:path';
import type { Service } from '../src/runtime/service.ts';
import type { ThreadRecord } from '../src/storage/threads.ts';

export const kind = 'files';

export function instrument(service: Service) {
  let ms = 0;
  const chat = service.deps.chat as unknown as {
    graph: { checkpointer: Record<string, (...a: unknown[]) => Promise<unknown>> };
    threads: Record<string, (...a: unknown[]) => Promise<unknown>>;
  };
  const wrap = (o: Record<string, (...a: unknown[]) => Promise<unknown>>, names: string[]) => {
    for (const n of names) {
      const f = o[n]!.bind(o);
      o[n] = async (...a: unknown[]) => {
        const t = performance.now();
        try {
          return await f(...a);
        } finally {
          ms += performance.now() - t;
        }
      };
    }
  };
  wrap(chat.graph.checkpointer, ['put', 'putWrites']);
  wrap(chat.threads, ['create', 'update']);
  return {
    take: () => {
      const v = ms;
      ms = 0;
      return v;
    },
  };
}

let written = 0;
const write = fs.promises.writeFile;
fs.promises.writeFile = (async (file: fs.PathLike, data: string | Uint8Array, ...rest: unknown[]) => {
  written += typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
  return (write as (...a: unknown[]) => Promise<void>)(file, data, ...rest);
}) as typeof fs.promises.writeFile;

export async function storedBytes(service: Service, threadId: string) {
  const file = path.join(service.deps.config.dataDir, 'threads', 'checkpoints', `${encodeURIComponent(threadId)}.json`);
  return { stored: fs.statSync(file).size, written };
}

export async function fill(dir: string, template: string, count: number) {
  const tdir = path.join(dir, 'threads');
  const index = JSON.parse(fs.readFileSync(path.join(tdir, 'index.json'), 'utf8')) as ThreadRecord[];
  const t0 = index.find((t) => t.id === template)!;
  const body = fs.readFileSync(path.join(tdir, 'checkpoints', `${template}.json`), 'utf8');
  const out: ThreadRecord[] = [...index];
  for (let i = 0; i < count; i++) {
    const id = `bench-${i}`;
    const at = new Date(Date.parse(t0.updated_at) - (i + 1) * 60_000).toISOString();
    out.push({
      ...t0,
      id,
      owner: i % 100 === 0 ? 'bench' : `user-${i % 500}`,
      kind: i % 10 === 0 ? 'alert' : 'chat',
      created_at: at,
      updated_at: at,
    });
    fs.writeFileSync(path.join(tdir, 'checkpoints', `${id}.json`), body.replaceAll(template, id));
  }
  fs.writeFileSync(path.join(tdir, 'index.json'), JSON.stringify(out));
}
