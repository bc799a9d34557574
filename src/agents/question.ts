import type { TimeWindow } from '../core/window.ts';
import type { Intent, Mention } from './understand/index.ts';

/** What intake understood of the question; kept in the thread (plain data: it is checkpointed). */
export interface QuestionFacts {
  /** Services of the workspace the question names, in order. */
  services: string[];
  /** The window the question names, if it names one. */
  window?: TimeWindow;
  /** When the question says an incident started. */
  incidentStart?: number;
  /** A baseline the question's time implies (it ends before the incident). */
  baseline?: TimeWindow;
  /** Lower-case words, for lexical routing. */
  words: string[];
  intent: Intent;
  /** Hosts, pods, nodes, jobs, namespaces named; `known` when the telemetry names them. */
  entities: Mention[];
}
