/**
 * Knowledge retrieval: quality on the labelled set (recall@1, recall@3, MRR)
 * for lexical, dense (with OLLAMA_URL) and hybrid retrieval, and with words
 * alone (the alert name left out); runbook matching: what answers would cite
 * at the policy's match threshold (cited recall, wrong citations, false
 * matches on cases no runbook covers), the threshold calibrated on the set
 * and the same figures by leave-one-out; the time to index the runbooks
 * folder; query latency p50/p99 and memory of the embedded index at 10k
 * sections, words only and with 768-dimension vectors.
 *
 *   npm run bench:knowledge [-- --chunks 10000 --queries 3000]
 *   npm run bench:knowledge -- --runbooks DIR --cases FILE   (another collection and its labelled set)
 */
import { readFileSync } from 'node:fs';
import type { EmbeddingsInterface } from '@langchain/core/embeddings';
import MiniSearch from 'minisearch';
import { analyse } from '../src/knowledge/analyzer.ts';
import { EmbeddedIndex, FIELD_WEIGHTS } from '../src/knowledge/embedded.ts';
import { chunkMarkdown, type Chunk, markdownFiles } from '../src/knowledge/markdown.ts';
import { embeddingText } from '../src/knowledge/embedder.ts';
import {
  calibrate,
  covered,
  evaluateRetrieval,
  leaveOneOut,
  loadCases,
  type MatchCase,
  matchCase,
  matchReport,
  type RetrievalCase,
} from '../src/knowledge/eval.ts';
import { RunbookSearch } from '../src/knowledge/runbook-search.ts';
import type { RetrievalMode } from '../src/knowledge/sections.ts';
import { ollamaEmbeddings } from '../src/clients/ollama.ts';
import { loadPolicies } from '../src/policies/load.ts';
import { Rng } from '../src/demo/random.ts';
import { options, percentile, report, round } from './lib.ts';

const opts = options({
  chunks: { type: 'string', default: '10000' },
  queries: { type: 'string', default: '3000' },
  dims: { type: 'string', default: '768' },
  runbooks: { type: 'string', default: 'runbooks' },
  cases: { type: 'string', default: 'evals/knowledge/runbook-queries.yaml' },
});
const target = opts.quick ? 1000 : Number(opts.chunks);
const queries = opts.quick ? 200 : Number(opts.queries);
const dims = Number(opts.dims);
const policy = loadPolicies('policies').knowledge;

function indexRunbooks(): { index: EmbeddedIndex; chunks: Chunk[]; ms: number } {
  const started = performance.now();
  const index = new EmbeddedIndex({ rrfK: policy.rrf_k, candidates: policy.candidates });
  const chunks: Chunk[] = [];
  for (const f of markdownFiles(opts.runbooks)) {
    const c = chunkMarkdown(f, readFileSync(f, 'utf8'), { source: 'runbook', maxChars: policy.chunk_max_chars });
    index.upsert(c);
    chunks.push(...c);
  }
  return { index, chunks, ms: performance.now() - started };
}

// 1. Quality on the labelled set, through the service's runbook search (exact alert matches first, copies folded, hits graded).
const cases = loadCases(opts.cases);
const { index, chunks, ms: indexMs } = indexRunbooks();
const queryOf = (c: RetrievalCase) => c.query ?? c.alertname!;
const qv = new Map<string, Float32Array>();
const runbookSearch = new RunbookSearch({
  index,
  embedder: { embedQuery: async (text) => (qv.has(text) ? { vector: qv.get(text)! } : {}) },
  threshold: policy.match_threshold,
});
const ranking = (mode: RetrievalMode, withAlert = true) =>
  evaluateRetrieval(cases, async (c) =>
    (
      await runbookSearch.search('*', queryOf(c), { k: 10, mode, ...(withAlert && c.alertname ? { alertname: c.alertname } : {}) })
    ).hits.map((h) => h.path),
  );
/** What an answer would cite from: the tool's default three hits, graded. */
const graded = async (mode: RetrievalMode): Promise<MatchCase[]> =>
  Promise.all(
    cases.map(async (c) => matchCase(c, (await runbookSearch.search('*', queryOf(c), { k: 3, mode, alertname: c.alertname })).hits)),
  );
const matching = (m: MatchCase[]) => {
  const calibrated = calibrate(m);
  return {
    at_policy_threshold: matchReport(m, policy.match_threshold),
    calibrated_threshold: Math.round(calibrated * 1000) / 1000,
    at_calibrated_threshold: matchReport(m, calibrated),
    leave_one_out: leaveOneOut(m),
  };
};
const quality: Record<string, unknown> = {};
const lexical = await ranking('lexical');
const wordsOnly = await ranking('lexical', false);
quality.lexical = { ...lexical, misses: lexical.misses.length };
quality.lexical_without_alertname = { ...wordsOnly, misses: wordsOnly.misses.length };
quality.matching_lexical = matching(await graded('lexical'));
let embeddings: EmbeddingsInterface | undefined;
if (process.env.OLLAMA_URL) {
  embeddings = ollamaEmbeddings(process.env.OLLAMA_URL, policy.embedding_model, 60_000);
  const vectors = await embeddings.embedDocuments(chunks.map(embeddingText));
  for (const [i, c] of chunks.entries()) index.setVector(c.id, vectors[i]!);
  for (const c of cases) qv.set(queryOf(c), Float32Array.from(await embeddings.embedQuery(queryOf(c))));
  const dense = await ranking('dense');
  const hybrid = await ranking('hybrid');
  quality.dense = { model: policy.embedding_model, ...dense, misses: dense.misses.length };
  quality.hybrid = { model: policy.embedding_model, ...hybrid, misses: hybrid.misses.length };
  quality.matching_hybrid = matching(await graded('hybrid'));
} else {
  quality.dense = 'not measured: set OLLAMA_URL (with the embedding model of policies/knowledge.yaml pulled)';
  quality.hybrid = 'without an embedding model, hybrid retrieval is the lexical one';
}

// 2. Latency and memory at scale: the runbook sections rewritten into `target` distinct sections.
const rng = new Rng(11);
const rand = () => rng.next();
const words = [
  ...new Set(
    chunks.flatMap((c) =>
      c.text
        .toLowerCase()
        .split(/[^a-z0-9]+/)
        .filter((w) => w.length > 3),
    ),
  ),
];
const services = [
  'payment',
  'checkout',
  'cart',
  'frontend',
  'currency',
  'shipping',
  'email',
  'auth',
  'search',
  'ledger',
  'billing',
  'inventory',
];
function synthetic(i: number): Chunk {
  const base = chunks[i % chunks.length]!;
  const svc = services[i % services.length]!;
  // Swap a fifth of the words for others from the corpus, and name a service and a team: every section is distinct.
  const text = base.text
    .split(' ')
    .map((w) => (rand() < 0.2 ? words[Math.floor(rand() * words.length)]! : w))
    .join(' ');
  return {
    ...base,
    id: `syn-${i}`,
    path: `team-${i % 40}/${svc}-${Math.floor(i / chunks.length)}.md`,
    workspace: `ws-${i % 20}`,
    text: `${text}\n\nOwner: team-${i % 40}, service ${svc}.`,
    hash: `h${i}`,
  };
}
const before = process.memoryUsage().heapUsed;
const big = new EmbeddedIndex({ rrfK: policy.rrf_k, candidates: policy.candidates });
const buildStart = performance.now();
for (let i = 0; i < target; i += 500) big.upsert(Array.from({ length: Math.min(500, target - i) }, (_, j) => synthetic(i + j)));
const buildMs = performance.now() - buildStart;
global.gc?.();
const lexicalHeap = process.memoryUsage().heapUsed - before;

const qs = Array.from({ length: queries }, (_, i) => cases[i % cases.length]!);
function latency(withVectors: boolean): { p50: number; p99: number; mean: number } {
  const times: number[] = [];
  const qvec = new Float32Array(dims);
  for (const [i, c] of qs.entries()) {
    if (withVectors) for (let d = 0; d < dims; d++) qvec[d] = Math.sin(i * 31 + d);
    const t = performance.now();
    big.search(queryOf(c), {
      k: 5,
      alertname: c.alertname,
      filter: (x) => x.workspace === '*' || x.workspace === 'ws-3',
      ...(withVectors ? { queryVector: qvec } : {}),
    });
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return {
    p50: round(percentile(times, 50), 2),
    p99: round(percentile(times, 99), 2),
    mean: round(times.reduce((a, b) => a + b, 0) / times.length, 2),
  };
}
// Warm up, then measure.
latency(false);
const lexicalLatency = latency(false);
const vecStart = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
for (const c of big.all()) {
  const v = new Float32Array(dims);
  for (let d = 0; d < dims; d++) v[d] = rand() - 0.5;
  big.setVector(c.id, v);
}
const vectorBytes = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers - vecStart;
latency(true);
const hybridLatency = latency(true);

// 3. Why our BM25 and not MiniSearch: the same scoring (field boosts, BM25+, coordination) configured in MiniSearch, on the same data.
function miniSearch(docs: Chunk[]) {
  const ms = new MiniSearch<{ id: string }>({
    idField: 'id',
    fields: Object.keys(FIELD_WEIGHTS),
    tokenize: analyse,
    processTerm: (t) => t,
    searchOptions: { boost: { ...FIELD_WEIGHTS }, combineWith: 'OR', prefix: false, fuzzy: false },
  });
  ms.addAll(
    docs.map((c) => ({ id: c.id, title: c.title, section: c.section, alerts: c.alerts.join(' '), tags: c.tags.join(' '), text: c.text })),
  );
  return ms;
}
const smallMs = miniSearch(chunks);
const byId = new Map(chunks.map((c) => [c.id, c]));
const msQuality = await evaluateRetrieval(cases, async (c) =>
  smallMs
    .search(queryOf(c))
    .slice(0, 10)
    .map((r) => byId.get(String(r.id))!.path),
);
const bigMs = miniSearch(big.all());
const msTimes: number[] = [];
for (const [i, c] of qs.entries()) {
  if (i === 0) for (const w of qs.slice(0, 100)) bigMs.search(queryOf(w));
  const t = performance.now();
  bigMs.search(queryOf(c), { filter: (r) => String(r.id).length > 0 }).slice(0, policy.candidates);
  msTimes.push(performance.now() - t);
}
msTimes.sort((a, b) => a - b);

report('knowledge', {
  quick: opts.quick,
  labelled_cases: { covered: cases.filter(covered).length, no_runbook: cases.filter((c) => !covered(c)).length },
  quality,
  runbooks: { folder: opts.runbooks, files: markdownFiles(opts.runbooks).length, sections: chunks.length, index_ms: round(indexMs, 1) },
  scale: {
    sections: big.size,
    build_ms: round(buildMs),
    heap_mib_words: round(lexicalHeap / 1048576),
    vectors_mib: round(vectorBytes / 1048576),
    query_ms_words: lexicalLatency,
    query_ms_hybrid_768d: hybridLatency,
    queries: qs.length,
  },
  minisearch_same_scoring: {
    quality: { recall_at_1: msQuality.recall_at_1, recall_at_3: msQuality.recall_at_3, mrr: msQuality.mrr },
    query_ms_words: { p50: round(percentile(msTimes, 50), 2), p99: round(percentile(msTimes, 99), 2) },
  },
});
