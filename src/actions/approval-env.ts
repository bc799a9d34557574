import type { ServiceMetrics } from '../observability/metrics.ts';
import type { BaseCheckpointSaver } from '@langchain/langgraph';
import type { Store } from '../clients/clickhouse.ts';
import type { ControlPlaneClient } from '../clients/control-plane.ts';
import type { Evidence } from '../core/evidence.ts';
import type { Logger } from '../observability/logger.ts';
import type { Policies } from '../policies/schema.ts';
import type { ApprovalStore } from '../storage/approvals.ts';
import type { AuditLog } from '../storage/audit.ts';

/** How the approval workflow writes into a conversation (the chat service implements it). */
export interface ThreadPoster {
  append(threadId: string, content: string, evidence?: Evidence[]): Promise<void>;
  evidenceIds(threadId: string): Promise<string[]>;
  /** Who owns the conversation and who asked in it (for the four-eyes rule). */
  participants(threadId: string): Promise<string[]>;
}

export interface ApprovalDeps {
  store: ApprovalStore;
  audit: AuditLog;
  policies: Policies;
  controlPlane?: ControlPlaneClient;
  logger: Logger;
  telemetry: Store;
  tenantAttribute: string;
  checkpointer: BaseCheckpointSaver;
  now?: () => number;
  /** Counts control-plane outcomes. */
  metrics?: ServiceMetrics;
}

/** What the parts of the approval workflow share: the stores, the policy, the clock, and the thread. */
export interface ApprovalEnv extends Omit<ApprovalDeps, 'now' | 'checkpointer'> {
  now: () => number;
  /** Writes into the conversation; a failure is logged, never thrown. */
  post(threadId: string, text: string, evidence?: Evidence[]): Promise<void>;
  /** Evidence ids the thread already uses, so new items continue after them. */
  threadEvidenceIds(threadId: string): Promise<string[]>;
}
