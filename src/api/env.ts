import type { Principal } from '../core/scope.ts';

/** Per-request values set by middleware. The raw token stays here and goes nowhere else. */
export interface AppVariables {
  trackingId: string;
  principal?: Principal;
  /** The workspace this request acts on: from the token, or chosen by X-Workspace among the token's. */
  workspace?: string;
  token?: string;
  /** Extra fields for the request's wide event. */
  eventAttributes?: Record<string, string>;
  /** Set by a route whose 5xx is an expected state (not ready while seeding): its request log level instead of error. */
  logLevel?: 'debug' | 'info';
}

export type AppEnv = { Variables: AppVariables };
