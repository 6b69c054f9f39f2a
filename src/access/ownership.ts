import { DomainError, HiddenObjectError } from 'src/common';
import { isAdmin, Principal } from 'src/access/principal';

/** A stored thing that belongs to an API key (null: created while keys were not required). */
export interface Owned {
  ownerKeyId: string | null;
}

/**
 * THE ACCESS CHECK. Sessions and their tasks belong to the key that created them; admins see
 * everything. Every route that loads a session or a task by id hands it to `assertVisible`, which
 * answers with the route's own not-found error when the principal may not see it, so another
 * key's object is indistinguishable from one that does not exist. Routes under
 * `/api/v1/tasks/:id` and `/api/v1/sessions/:id` are also checked by the auth guard before they
 * run (see ARCHITECTURE.md); lists filter with `ownerFilter`.
 */
export function canSee(principal: Principal, owned: Owned): boolean {
  return isAdmin(principal) || (owned.ownerKeyId !== null && owned.ownerKeyId === principal.keyId);
}

/**
 * `owned` when the principal may see it; otherwise (or when it is null) the `notFound` error, for
 * another key's object as a `HiddenObjectError` (the same answer, audited as a denied request).
 */
export function assertVisible<T extends Owned>(
  principal: Principal,
  owned: T | null,
  notFound: () => DomainError,
): T {
  if (owned === null) throw notFound();
  if (!canSee(principal, owned)) throw new HiddenObjectError(notFound());
  return owned;
}

/**
 * The owner a list must be restricted to: undefined for admins (everything), else the key's id
 * (a principal without a key that is not an admin sees nothing: a key id no row has).
 */
export function ownerFilter(principal: Principal): string | undefined {
  if (isAdmin(principal)) return undefined;
  return principal.keyId ?? '-';
}
