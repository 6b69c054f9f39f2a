import type { Request } from 'express';

/** What an API key may do. `admin` may do everything, see everything and manage keys. */
export const SCOPES = ['admin', 'tasks:write', 'tasks:read'] as const;
export type Scope = (typeof SCOPES)[number];

/**
 * WHO IS ASKING. Set on every request by the auth guard before any route runs:
 *
 * - `key`: an API key (its id, the prefix shown in lists, its scopes);
 * - `local`: keys are not required (AUTH_REQUIRED unset with no key created yet, or false): the
 *   operator on a loopback server, who may do everything;
 * - `monitor`: the METRICS_TOKEN, which may only read metrics and readiness.
 */
export interface Principal {
  kind: 'key' | 'local' | 'monitor';
  /** The API key's id; null for `local` and `monitor`. */
  keyId: string | null;
  /** The key's public prefix (shown in lists and logs); null without a key. */
  keyPrefix: string | null;
  scopes: readonly Scope[];
}

export const LOCAL_PRINCIPAL: Principal = {
  kind: 'local',
  keyId: null,
  keyPrefix: null,
  scopes: ['admin'],
};

export const MONITOR_PRINCIPAL: Principal = {
  kind: 'monitor',
  keyId: null,
  keyPrefix: null,
  scopes: [],
};

/** Admins (admin keys, and the local operator) see and may do everything. */
export function isAdmin(principal: Principal): boolean {
  return principal.scopes.includes('admin');
}

/** `admin` implies every scope; `tasks:write` implies `tasks:read`. */
export function hasScope(principal: Principal, scope: Scope): boolean {
  if (isAdmin(principal)) return true;
  if (scope === 'tasks:read' && principal.scopes.includes('tasks:write')) return true;
  return principal.scopes.includes(scope);
}

/** A request once the auth guard ran. */
export interface RequestWithPrincipal extends Request {
  principal?: Principal;
}

/** The request's principal; null before the guard ran (or when it refused the request). */
export function principalOf(req: RequestWithPrincipal): Principal | null {
  return req.principal ?? null;
}
