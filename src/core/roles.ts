/**
 * The one registry of roles. Tokens, policies (`policies/*.yaml`), routes and the CLI name roles from
 * here only: a policy naming another role stops the start, and `aiops token` refuses it. A new role
 * is added here, with its line, and in the README's role table (a test keeps the two equal).
 */
export const ROLES = {
  ingest: 'OTLP ingest for the workspace; loading demo data',
  alerts: 'send alerts for the workspace (Alertmanager webhook or plain alerts)',
  sre: 'chat with every specialist; every telemetry tool; the demo ground truth',
  security: 'chat with the Security specialist; the authentication-failure tool',
  efficiency: 'chat with the Efficiency specialist; the resource-efficiency and service-overview tools',
  viewer: 'chat; specialists the caller lacks a role for are skipped',
  admin: "read other users' threads in the workspace; the audit trail",
  'sre-lead': "read other users' threads in the workspace; approve actions; the audit trail",
  approver: 'approve or reject proposed actions; the audit trail',
  auditor: 'read the audit trail',
  'knowledge-admin': "add, replace and delete the workspace's knowledge documents",
  eval: "run eval suites and read their runs; load simulated telemetry into the token's eval workspace; choose prompt versions and the model of a turn",
} as const satisfies Record<string, string>;

export type Role = keyof typeof ROLES;

export const ROLE_NAMES = Object.keys(ROLES) as Role[];

export function isRole(name: string): name is Role {
  return Object.hasOwn(ROLES, name);
}

/** The names given that are not roles, in the order given. */
export function unknownRoles(names: readonly string[]): string[] {
  return names.filter((n) => !isRole(n));
}
