import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { AlertState } from '../storage/threads.ts';

const Labels = z.record(z.string().max(256), z.string().max(4096));
const Time = z.string().refine((v) => !Number.isNaN(Date.parse(v)), 'expected an RFC 3339 time');

/** One alert of an Alertmanager webhook (fields Alertmanager may leave out are optional). */
const AmAlert = z.object({
  status: z.enum(['firing', 'resolved']).optional(),
  labels: Labels.refine((l) => typeof l.alertname === 'string' && l.alertname.length > 0, 'labels.alertname is required'),
  annotations: Labels.default({}),
  startsAt: Time,
  endsAt: z.string().optional(),
  generatorURL: z.string().max(4096).optional(),
  fingerprint: z.string().max(128).optional(),
});

/** Alertmanager's webhook payload, version 4. */
export const AlertmanagerWebhook = z.object({
  version: z.literal('4', { message: 'only version "4" of the webhook payload is supported' }),
  groupKey: z.string().min(1).max(2048),
  truncatedAlerts: z.number().int().min(0).optional(),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string().max(512),
  groupLabels: Labels.default({}),
  commonLabels: Labels.default({}),
  commonAnnotations: Labels.default({}),
  externalURL: z.string().max(4096).default(''),
  alerts: z.array(AmAlert).min(1, 'a notification has at least one alert'),
});
export type AlertmanagerWebhook = z.infer<typeof AlertmanagerWebhook>;

/** A plain alert from another pipeline. */
export const PlainAlert = z
  .object({
    /** A stable id for the alert (repeats and the resolution carry the same); default: title and service. */
    id: z.string().min(1).max(256).optional(),
    title: z.string().trim().min(1).max(500),
    severity: z.enum(['critical', 'error', 'warning', 'info']).default('warning'),
    status: z.enum(['firing', 'resolved']).default('firing'),
    service: z.string().min(1).max(256).optional(),
    description: z.string().max(4000).optional(),
    labels: Labels.default({}),
    starts_at: Time.optional(),
    runbook_url: z.string().url().max(2048).optional(),
  })
  .strict();
export type PlainAlert = z.infer<typeof PlainAlert>;

/** A notification about one alert group, whatever its source. */
export interface AlertGroup {
  source: 'alertmanager' | 'api';
  key: string;
  status: 'firing' | 'resolved';
  receiver: string;
  group_labels: Record<string, string>;
  common_labels: Record<string, string>;
  common_annotations: Record<string, string>;
  external_url: string;
  alerts: AlertState[];
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
/** Alertmanager's zero time for "not ended". */
const ended = (t: string | undefined) =>
  t && !t.startsWith('0001-') && !Number.isNaN(Date.parse(t)) ? new Date(t).toISOString() : undefined;
const labelKey = (labels: Record<string, string>) => JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));

export function fromAlertmanager(m: AlertmanagerWebhook): AlertGroup {
  return {
    source: 'alertmanager',
    key: m.groupKey,
    status: m.status,
    receiver: m.receiver,
    group_labels: m.groupLabels,
    common_labels: m.commonLabels,
    common_annotations: m.commonAnnotations,
    external_url: m.externalURL,
    alerts: m.alerts.map((a) => ({
      // Alertmanager's fingerprint when sent; otherwise one of our own from the labels (the same alert has the same labels).
      fingerprint: a.fingerprint ?? sha(labelKey(a.labels)).slice(0, 16),
      alertname: a.labels.alertname!,
      status: a.status ?? m.status,
      starts_at: new Date(a.startsAt).toISOString(),
      ...(ended(a.endsAt) ? { ends_at: ended(a.endsAt) } : {}),
      labels: a.labels,
      annotations: a.annotations,
    })),
  };
}

export function fromPlain(p: PlainAlert, now: number): AlertGroup {
  const labels = {
    ...p.labels,
    alertname: p.labels.alertname ?? p.title,
    severity: p.severity,
    ...(p.service ? { service: p.service } : {}),
  };
  const id = p.id ?? sha(`${p.title}\u0000${p.service ?? ''}`).slice(0, 16);
  const annotations = {
    summary: p.title,
    ...(p.description ? { description: p.description } : {}),
    ...(p.runbook_url ? { runbook_url: p.runbook_url } : {}),
  };
  return {
    source: 'api',
    key: `api:${id}`,
    status: p.status,
    receiver: 'api',
    group_labels: { alertname: labels.alertname },
    common_labels: labels,
    common_annotations: annotations,
    external_url: '',
    alerts: [
      {
        fingerprint: sha(id).slice(0, 16),
        alertname: labels.alertname,
        status: p.status,
        starts_at: new Date(p.starts_at ?? now).toISOString(),
        labels,
        annotations,
      },
    ],
  };
}

/** What makes two notifications the same: the alerts and their statuses (not Alertmanager's timestamps). */
export function digest(g: AlertGroup): string {
  return sha(JSON.stringify([g.status, [...g.alerts].map((a) => `${a.fingerprint}:${a.status}`).sort()])).slice(0, 32);
}
