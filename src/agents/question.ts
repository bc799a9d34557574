import type { TimeWindow } from '../core/window.ts';
import type { Intent, Measure, Mention, Ranking, Stat } from './understand/index.ts';

/** What intake understood of the question; kept in the thread (plain data: it is checkpointed). */
export interface QuestionFacts {
  /** Services of the workspace the question is about, in order (named, or carried over by a follow-up). */
  services: string[];
  /** The window the question names (or a follow-up keeps), if any. */
  window?: TimeWindow;
  /** When the question says an incident started. */
  incidentStart?: number;
  /** A baseline the question's time implies (it ends before the incident), or the reference of a comparison. */
  baseline?: TimeWindow;
  /** Lower-case words, for lexical routing. */
  words: string[];
  /** What kind of answer is wanted (for a follow-up on another subject: the kind it runs as). */
  intent: Intent;
  /** How sure the reading of the intent is (0–1), and why. */
  confidence?: number;
  reasons?: string[];
  ranking?: Ranking;
  measure?: { kind: Measure; stat?: Stat };
  /** For a comparison: how the reference window was chosen. */
  compareHow?: string;
  /** The window to look at when the question names none: by intent. */
  defaultWindowMs: number;
  /** Hosts, pods, nodes, jobs, namespaces named; `known` when the telemetry names them. */
  entities: Mention[];
  /** Where the subject came from: the question, or the earlier turn for a follow-up. */
  subjectSource: 'question' | 'previous' | 'none';
  /** Notes on how vague words were read ("05/11 read as 5 November"). */
  timeNotes: string[];
}
