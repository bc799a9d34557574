import { analyse } from './analyzer.ts';
import type { Chunk } from './markdown.ts';
import { FIELD_WEIGHTS, fieldTexts } from './embedded.ts';

/** Field weights, the same as the embedded index's. */
const WEIGHTS = Object.values(FIELD_WEIGHTS);

/** A sparse vector as Qdrant takes it: term ids and weights. */
interface SparseVector {
  indices: number[];
  values: number[];
}

const K1 = 1.2;
const B = 0.75;
/** Average weighted length of a chunk in terms; fixed so that vectors stay comparable across incremental runs. */
const AVG_LEN = 160;

/** A term's id: FNV-1a over its UTF-8 bytes, as an unsigned 32-bit integer. */
function termId(term: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(term, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * The BM25 document side of a chunk: term frequency (weighted by field)
 * saturated and normalised by length. Qdrant's `idf` modifier on the sparse
 * vector supplies the inverse document frequency from the collection.
 */
export function bm25Document(c: Chunk): SparseVector {
  const tf = new Map<number, number>();
  let length = 0;
  const texts = fieldTexts(c);
  for (const [f, weight] of WEIGHTS.entries()) {
    for (const term of analyse(texts[f]!)) {
      const id = termId(term);
      tf.set(id, (tf.get(id) ?? 0) + weight);
      length += weight;
    }
  }
  const norm = K1 * (1 - B + (B * length) / AVG_LEN);
  const indices = [...tf.keys()].sort((a, b) => a - b);
  return { indices, values: indices.map((i) => (tf.get(i)! * (K1 + 1)) / (tf.get(i)! + norm)) };
}

/** The query side: each distinct term once, weight 1 (IDF comes from the collection). */
export function bm25Query(text: string): SparseVector {
  const indices = [...new Set(analyse(text).map(termId))].sort((a, b) => a - b);
  return { indices, values: indices.map(() => 1) };
}
