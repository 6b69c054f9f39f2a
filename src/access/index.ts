export {
  CurrentPrincipal,
  MONITOR_ROUTE,
  MonitorRoute,
  Public,
  PUBLIC_ROUTE,
  REQUIRED_SCOPE,
  RequireScope,
} from 'src/access/access.decorators';
export { assertVisible, canSee, ownerFilter } from 'src/access/ownership';
export type { Owned } from 'src/access/ownership';
export {
  hasScope,
  isAdmin,
  LOCAL_PRINCIPAL,
  MONITOR_PRINCIPAL,
  principalOf,
  SCOPES,
} from 'src/access/principal';
export type { Principal, RequestWithPrincipal, Scope } from 'src/access/principal';
export { KEY_MATERIAL, KEY_PATTERN } from 'src/access/key-format';
