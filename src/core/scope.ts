/** Who is calling, as the control plane's token says. */
export interface Principal {
  sub: string;
  roles: string[];
  /** Workspaces the token grants; every query is scoped to one of them. */
  workspaces: string[];
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;

/** Claims may be an array or a space/comma separated string (OAuth `scope` style). */
export function claimList(value: unknown): string[] {
  const items = Array.isArray(value) ? value : typeof value === 'string' ? value.split(/[\s,]+/) : [];
  return [...new Set(items.filter((v): v is string => typeof v === 'string' && NAME.test(v)))];
}

export function hasRole(p: Principal, ...roles: string[]): boolean {
  return roles.some((r) => p.roles.includes(r));
}

/** Who asks, in which workspace, under which request: every query, turn and decision runs in one. */
export interface Scope {
  principal: Principal;
  workspace: string;
  trackingId: string;
}
