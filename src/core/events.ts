import type { Evidence } from './evidence.ts';

/**
 * The chat stream's contract (Server-Sent Events), versioned on its own: not
 * LangChain's internal messages. Every event carries `v`.
 */
export const CHAT_STREAM_SCHEMA = 'hks-aiops.chat.v1';

export type ChatEvent =
  | { event: 'run.started'; data: { run_id: string; thread_id: string; turn: number; schema: string } }
  | {
      event: 'agent.step';
      data: {
        agent: string;
        step: string;
        status: 'started' | 'done' | 'failed' | 'skipped';
        tool?: string;
        detail?: string;
        elapsed_ms?: number;
      };
    }
  | { event: 'evidence'; data: { agent: string; tool: string; items: Evidence[] } }
  | { event: 'token'; data: { text: string } }
  /** The answer as the JSON API returns it (its shape is the chat answer of src/conversations). */
  | { event: 'answer'; data: object }
  | {
      event: 'approval.required';
      data: {
        approval_id: string;
        thread_id: string;
        action: string;
        params: Record<string, unknown>;
        summary: string;
        reason: string;
        risk: string;
        approvers: string[];
        evidence_ids: string[];
        expires_at: string;
      };
    }
  | { event: 'approval.decided'; data: { approval_id: string; decision: 'approve' | 'reject'; by: string; at: string } }
  | {
      event: 'action.result';
      data: {
        approval_id: string;
        status: string;
        http_status?: number;
        operation_id?: string;
        message: string;
        attempts: number;
        at: string;
      };
    }
  | { event: 'error'; data: { type: string; title: string; status: number; detail: string } }
  | { event: 'done'; data: { run_id: string } };
