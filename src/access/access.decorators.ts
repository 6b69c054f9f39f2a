import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { DomainError, ErrorCode } from 'src/common';
import { Principal, RequestWithPrincipal, Scope } from 'src/access/principal';

export const PUBLIC_ROUTE = 'access:public';
export const REQUIRED_SCOPE = 'access:scope';
export const MONITOR_ROUTE = 'access:monitor';

/** The route answers without a key (only `/health/live`). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(PUBLIC_ROUTE, true);

/**
 * The scope a key needs for the route (on the method, or the controller for all its routes). A
 * route without one needs `admin`: a new route is closed until it says who may use it.
 */
export const RequireScope = (scope: Scope): MethodDecorator & ClassDecorator =>
  SetMetadata(REQUIRED_SCOPE, scope);

/**
 * Besides admin keys, METRICS_TOKEN may call the route (`/metrics`, `/health`, `/health/ready`),
 * and it answers while the database is down (with keys not required, as they were last seen).
 */
export const MonitorRoute = (): MethodDecorator & ClassDecorator =>
  SetMetadata(MONITOR_ROUTE, true);

/** The principal the auth guard established for this request. */
export const CurrentPrincipal = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): Principal => {
    const principal = ctx.switchToHttp().getRequest<RequestWithPrincipal>().principal;
    if (principal === undefined) {
      throw new DomainError(ErrorCode.Unauthorized, 'An API key is required');
    }
    return principal;
  },
);
