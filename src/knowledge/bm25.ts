import { analyse } from './analyzer.ts';

interface Postings {
  slots: number[];
  tf: number[];
  /** Live documents holding the term in this field. */
  df: number;
}

const K1 = 1.2;
const B = 0.7;
/** BM25+ lower bound for a matching term, so that long sections are not pushed to zero. */
const DELTA = 0.5;

/**
 * BM25+ per field, summed with field weights, times the number of query
 * words a document matches (coordination): the scoring MiniSearch uses, in
 * flat arrays with one score accumulator per query instead of a match object
 * per document, field and term. Removal marks a slot dead; postings are
 * compacted when dead slots pile up.
 *
 * Why ours: MiniSearch gave the same ranking (bench/knowledge.ts) but its
 * p99 at 10k sections was above 20 ms, most of it allocation; this is about
 * ten times faster.
 */
export class Bm25Index {
  private readonly slotOf = new Map<string, number>();
  private ids: (string | undefined)[] = [];
  /** Per field: each slot's length in words. */
  private lengths: number[][];
  private totals: number[];
  /** Per field: term → postings. */
  private postings: Map<string, Postings>[];
  private terms: string[][][] = [];
  /** Live documents holding the term in any field (for coverage). */
  private readonly anyDf = new Map<string, number>();
  private live = 0;
  private dead = 0;
  private scores = new Float64Array(0);
  private matched = new Uint16Array(0);
  private seen = new Int32Array(0);
  private queryNo = 0;

  constructor(private readonly weights: readonly number[]) {
    this.lengths = weights.map(() => []);
    this.totals = weights.map(() => 0);
    this.postings = weights.map(() => new Map());
  }

  get size(): number {
    return this.live;
  }

  /** Adds (or replaces) a document: one text per field, in the order of the weights. */
  add(id: string, fields: readonly string[]): void {
    if (this.slotOf.has(id)) this.remove(id);
    const slot = this.ids.length;
    this.ids.push(id);
    this.slotOf.set(id, slot);
    const docTerms: string[][] = [];
    fields.forEach((text, f) => {
      const tf = new Map<string, number>();
      const words = analyse(text);
      for (const w of words) tf.set(w, (tf.get(w) ?? 0) + 1);
      this.lengths[f]!.push(words.length);
      this.totals[f]! += words.length;
      for (const [term, n] of tf) {
        let p = this.postings[f]!.get(term);
        if (!p) {
          p = { slots: [], tf: [], df: 0 };
          this.postings[f]!.set(term, p);
        }
        p.slots.push(slot);
        p.tf.push(n);
        p.df++;
      }
      docTerms.push([...tf.keys()]);
    });
    for (const t of new Set(docTerms.flat())) this.anyDf.set(t, (this.anyDf.get(t) ?? 0) + 1);
    this.terms.push(docTerms);
    this.live++;
  }

  remove(id: string): void {
    const slot = this.slotOf.get(id);
    if (slot === undefined) return;
    this.slotOf.delete(id);
    this.ids[slot] = undefined;
    this.terms[slot]!.forEach((terms, f) => {
      for (const t of terms) this.postings[f]!.get(t)!.df--;
      this.totals[f]! -= this.lengths[f]![slot]!;
    });
    for (const t of new Set(this.terms[slot]!.flat())) {
      const n = (this.anyDf.get(t) ?? 1) - 1;
      if (n > 0) this.anyDf.set(t, n);
      else this.anyDf.delete(t);
    }
    this.terms[slot] = [];
    this.live--;
    this.dead++;
    if (this.dead > 1000 && this.dead > this.live) this.compact();
  }

  /** Rebuilds the arrays without dead slots. */
  private compact(): void {
    const remap = new Int32Array(this.ids.length).fill(-1);
    const ids: string[] = [];
    this.ids.forEach((id, slot) => {
      if (id === undefined) return;
      remap[slot] = ids.length;
      this.slotOf.set(id, ids.length);
      ids.push(id);
    });
    const keep = (_: unknown, slot: number) => remap[slot]! >= 0;
    this.lengths = this.lengths.map((l) => l.filter(keep));
    this.terms = this.terms.filter(keep);
    this.postings = this.postings.map((field) => {
      const next = new Map<string, Postings>();
      for (const [term, p] of field) {
        const slots: number[] = [];
        const tf: number[] = [];
        p.slots.forEach((s, i) => {
          if (remap[s]! >= 0) {
            slots.push(remap[s]!);
            tf.push(p.tf[i]!);
          }
        });
        if (slots.length) next.set(term, { slots, tf, df: slots.length });
      }
      return next;
    });
    this.ids = ids;
    this.dead = 0;
  }

  /**
   * How much of the query these documents hold, from 0 to 1: the IDF of the
   * query words found in any of them (any field) over the IDF of all the
   * query words. Unlike a BM25 score it is comparable across queries, so one
   * threshold can say whether a document answers a query at all; a word no
   * document holds weighs most, as it is what the collection does not know.
   * Numbers are left out (a count or a version says little about the topic).
   */
  coverage(query: string, ids: string[]): number {
    const terms = [...new Set(analyse(query))].filter((t) => !/^\d+$/.test(t));
    const docs = ids.map((id) => this.slotOf.get(id)).flatMap((slot) => (slot === undefined ? [] : [this.terms[slot]!]));
    let total = 0;
    let held = 0;
    for (const t of terms) {
      const df = this.anyDf.get(t) ?? 0;
      const idf = Math.log(1 + (this.live - df + 0.5) / (df + 0.5));
      total += idf;
      if (df > 0 && docs.some((fields) => fields.some((f) => f.includes(t)))) held += idf;
    }
    return total > 0 ? held / total : 0;
  }

  /** The best `limit` documents that `allowed` accepts, best first. */
  search(query: string, limit: number, allowed?: (id: string) => boolean): { id: string; score: number }[] {
    if (this.live === 0) return [];
    const terms = [...new Set(analyse(query))];
    if (this.scores.length < this.ids.length) {
      const n = Math.max(this.ids.length, this.scores.length * 2);
      this.scores = new Float64Array(n);
      this.matched = new Uint16Array(n);
      this.seen = new Int32Array(n);
    }
    if (this.queryNo > 2_000_000_000) {
      this.seen.fill(0);
      this.queryNo = 0;
    }
    const { scores, matched, seen } = this;
    const touched: number[] = [];
    for (const term of terms) {
      // A term counts once for coordination, however many fields it matches in.
      const q = ++this.queryNo;
      this.weights.forEach((weight, f) => {
        const p = this.postings[f]!.get(term);
        if (!p || p.df === 0) return;
        const idf = Math.log(1 + (this.live - p.df + 0.5) / (p.df + 0.5));
        const avg = this.totals[f]! / this.live || 1;
        const lengths = this.lengths[f]!;
        const { slots, tf } = p;
        for (let i = 0; i < slots.length; i++) {
          const s = slots[i]!;
          if (this.ids[s] === undefined) continue;
          const n = tf[i]!;
          if (matched[s] === 0) touched.push(s);
          if (seen[s] !== q) {
            seen[s] = q;
            matched[s]!++;
          }
          scores[s]! += weight * idf * (DELTA + (n * (K1 + 1)) / (n + K1 * (1 - B + (B * lengths[s]!) / avg)));
        }
      });
    }
    const out: { id: string; score: number }[] = [];
    for (const s of touched) {
      const id = this.ids[s]!;
      if (!allowed || allowed(id)) out.push({ id, score: scores[s]! * matched[s]! });
      scores[s] = 0;
      matched[s] = 0;
    }
    out.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
    return out.slice(0, limit);
  }
}
