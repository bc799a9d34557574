import type { AlertContext } from '../core/alert.ts';
import type { Mention } from './understand/index.ts';

/** A thing a question or alert is about that is not (known as) a service: a host, pod, node, job… */
export interface Subject {
  kind: string;
  name: string;
}

/** Alert labels that name what the alert is about, and the kind each names. */
const SUBJECT_LABELS: [string, string][] = [
  ['host', 'host'],
  ['hostname', 'host'],
  ['instance', 'host'],
  ['node', 'node'],
  ['nodename', 'node'],
  ['kubernetes_node', 'node'],
  ['pod', 'pod'],
  ['pod_name', 'pod'],
  ['kubernetes_pod_name', 'pod'],
  ['container', 'container'],
  ['job', 'job'],
  ['namespace', 'namespace'],
];

/** What an alert is about besides the workspace's services: its host, node, pod, job… labels (an instance without its port). */
export function alertSubjects(alert: AlertContext, services: string[], workspace: string): Subject[] {
  const out: Subject[] = [];
  for (const [label, kind] of SUBJECT_LABELS) {
    const raw = alert.labels[label];
    if (!raw) continue;
    const name = label === 'instance' ? raw.replace(/:\d+$/, '') : raw;
    // The workspace's own namespace and its services are not subjects to look for.
    if (services.includes(name) || (kind === 'namespace' && name === workspace) || out.some((s) => s.name === name)) continue;
    out.push({ kind, name });
  }
  return out;
}

/** What a question names besides services: hosts, pods, nodes, jobs, namespaces, containers. */
export function questionSubjects(entities: Mention[]): Subject[] {
  return entities.filter((e) => e.kind !== 'service' && !e.known).map((e) => ({ kind: e.kind, name: e.name }));
}

/** "host infrastructure002A and job data_collector" */
export function subjectText(subjects: Subject[]): string {
  const names = subjects.map((s) => `${s.kind} ${s.name}`);
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}
