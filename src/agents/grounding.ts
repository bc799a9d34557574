import type { Evidence } from '../core/evidence.ts';

export interface GroundingReport {
  sentences: number;
  supported: number;
  removed: number;
  unsupported_numbers: string[];
  unsupported_entities: string[];
  unknown_citations: string[];
  citations: number;
  passed: boolean;
}

const NUMBER = /(?<![\w.\-[])(-?\d+(?:[.,]\d+)*)(\s?%|\s?(?:ms|s|GiB|MiB|KiB|GB|MB|CPU|cores?|req\/min|\/min|\/s|x))?(?!\w|\.\d)/g;
const TIME = /\b([01]?\d|2[0-3]):([0-5]\d)\b/g;
const VERSION = /\bv?\d+\.\d+\.\d+(?:[-+][\w.]+)?\b/g;
const CITATION = /\[([a-z]{2}\d+)\]/g;

interface StatedNumber {
  /** As written, with its unit ("31.9%"). */
  text: string;
  /** Its digits ("31.9"), which say how far it was rounded. */
  digits: string;
  value: number;
}

/** The numbers a text states on their own (not inside an id, a hash or a version). */
function numbersIn(text: string): StatedNumber[] {
  const out: StatedNumber[] = [];
  for (const m of text.matchAll(NUMBER)) {
    const value = Number(m[1]!.replace(/,/g, ''));
    if (Number.isFinite(value)) out.push({ text: m[0].trim(), digits: m[1]!, value });
  }
  return out;
}

interface NumberPool {
  /** What the tools measured: matched within the tolerance and in the units an answer may use. */
  measured: number[];
  /** Numbers quoted in log lines and attributes (ports, status codes, counts): matched exactly. */
  quoted: Set<number>;
}

/** Every number the evidence states, in the forms an answer may write it. */
function numberPool(evidence: Evidence[]): NumberPool {
  const measured: number[] = [];
  const quoted = new Set<number>();
  const add = (v: number) => {
    if (!Number.isFinite(v)) return;
    measured.push(v);
    // Ratios are written as percentages, milliseconds as seconds, bytes as MiB/GiB.
    if (Math.abs(v) <= 1) measured.push(v * 100);
    measured.push(v / 1000, v / 1048576, v / 1073741824);
  };
  for (const e of evidence) {
    for (const v of Object.values(e.numbers)) add(v);
    for (const n of numbersIn(e.summary)) add(n.value);
    // Log lines and attributes carry ids and hashes whose digits would support almost any number
    // within a tolerance; only what stands alone there counts, and only as written.
    for (const n of numbersIn([...Object.values(e.attributes), ...(e.examples ?? [])].join(' '))) quoted.add(n.value);
  }
  return { measured, quoted };
}

function supportedNumber({ digits, value: v }: StatedNumber, pool: NumberPool, tolerance: number): boolean {
  // Small counts and ordinals ("3 services", "one of 2") are wording more than claims.
  if (Number.isInteger(v) && Math.abs(v) <= 3) return true;
  if (pool.quoted.has(v)) return true;
  const decimals = (digits.split('.')[1] ?? '').length;
  return pool.measured.some((p) => {
    if (Math.abs(p - v) <= tolerance * Math.max(Math.abs(p), Math.abs(v))) return true;
    // Rounded to what the writer shows: 31.9 for 31.94, 32 for 31.9.
    return Math.abs(Number(p.toFixed(decimals)) - v) < 1e-9 || Math.abs(Math.round(p) - v) < 1e-9;
  });
}

/** Splits an answer into sentences, keeping list items and headings apart. */
export function sentences(text: string): string[] {
  return (
    text
      .split(/\n+/)
      // A numbered item ("2. Roll back") is one sentence, not a bare "2." and the rest.
      .flatMap((line) => line.split(/(?<=[.!?])(?<!^\s*\d{1,3}\.)\s+(?=[A-Z(\-*•])/))
      .map((s) => s.trim())
      .filter((s) => s.length > 0)
  );
}

/**
 * Holds a draft to the evidence: every number, version, clock time and
 * service it names must appear in the evidence, and every evidence id it
 * cites must exist. Sentences that fail are removed and counted; the draft
 * fails when too many do or when it cites nothing.
 */
export function checkGrounding(
  draft: string,
  evidence: Evidence[],
  services: string[],
  opts: { tolerance: number; maxUnsupportedShare: number; windowTimes?: string[] },
): { text: string; report: GroundingReport } {
  const pool = numberPool(evidence);
  const ids = new Set(evidence.map((e) => e.id));
  const corpus = evidence
    .map((e) => [e.summary, e.service ?? '', ...Object.values(e.attributes), ...(e.examples ?? [])].join(' '))
    .join('\n');
  const serviceInEvidence = new Set(evidence.map((e) => e.service).filter(Boolean) as string[]);
  const knownServices = new Set(services);
  const report: GroundingReport = {
    sentences: 0,
    supported: 0,
    removed: 0,
    unsupported_numbers: [],
    unsupported_entities: [],
    unknown_citations: [],
    citations: 0,
    passed: false,
  };
  const kept: string[] = [];
  for (const sentence of sentences(draft)) {
    report.sentences++;
    let ok = true;
    const cited = [...sentence.matchAll(CITATION)].map((m) => m[1]!);
    report.citations += cited.length;
    for (const c of cited) {
      if (!ids.has(c)) {
        ok = false;
        report.unknown_citations.push(c);
      }
    }
    // Take out what is checked separately before reading plain numbers, and a list item's number.
    let rest = sentence.replace(CITATION, ' ').replace(/^\d{1,3}[.)]\s+/, ' ');
    for (const m of rest.matchAll(VERSION)) {
      const v = m[0].replace(/^v/, '');
      if (!corpus.includes(v)) {
        ok = false;
        report.unsupported_entities.push(m[0]);
      }
    }
    rest = rest.replace(VERSION, ' ');
    for (const m of rest.matchAll(TIME)) {
      const t = `${m[1]!.padStart(2, '0')}:${m[2]}`;
      if (!corpus.includes(t) && !(opts.windowTimes ?? []).includes(t)) {
        ok = false;
        report.unsupported_entities.push(t);
      }
    }
    rest = rest.replace(TIME, ' ');
    for (const n of numbersIn(rest)) {
      if (!supportedNumber(n, pool, opts.tolerance)) {
        ok = false;
        report.unsupported_numbers.push(n.text);
      }
    }
    // Names: a workspace service the evidence never mentions, or a service-like name the workspace does not have.
    for (const word of sentence.toLowerCase().match(/\b[a-z][a-z0-9]*(?:-[a-z0-9]+)*\b/g) ?? []) {
      if (knownServices.has(word) && !serviceInEvidence.has(word) && !corpus.toLowerCase().includes(word)) {
        ok = false;
        report.unsupported_entities.push(word);
      }
    }
    for (const m of sentence.matchAll(/\b([a-z][a-z0-9]*(?:-[a-z0-9]+)+)(?:\s+service)\b/gi)) {
      const name = m[1]!.toLowerCase();
      if (!knownServices.has(name) && !corpus.toLowerCase().includes(name)) {
        ok = false;
        report.unsupported_entities.push(name);
      }
    }
    if (ok) {
      report.supported++;
      kept.push(sentence);
    } else {
      report.removed++;
    }
  }
  const share = report.sentences ? report.removed / report.sentences : 1;
  report.passed = report.sentences > 0 && report.citations > 0 && share <= opts.maxUnsupportedShare && kept.length > 0;
  return {
    text: kept
      .join(' ')
      .replace(/ (?=- )/g, '\n')
      .replace(/ (Impact|What changed|Next steps):/g, '\n\n$1:'),
    report,
  };
}
