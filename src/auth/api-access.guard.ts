import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Response } from 'express';
import {
  hasScope,
  LOCAL_PRINCIPAL,
  MONITOR_PRINCIPAL,
  MONITOR_ROUTE,
  Principal,
  PUBLIC_ROUTE,
  REQUIRED_SCOPE,
  RequestWithPrincipal,
  Scope,
} from 'src/access';
import { DomainError, ErrorCode } from 'src/common';
import { AppConfig } from 'src/config';
import {
  bearerToken,
  hasSeveralAuthorizations,
  prefixOf,
  tokenMatches,
} from 'src/auth/api-key-secret';
import { ApiKeysService, KeyRefusal } from 'src/auth/api-keys.service';
import { ApiThrottlerGuard } from 'src/auth/api-throttler.guard';
import { OwnedRoutes } from 'src/auth/owned-routes';

const VERDICT = Symbol('api access verdict');

type JudgedRequest = RequestWithPrincipal & {
  [VERDICT]?: { handler: unknown; verdict: Promise<boolean> };
};

type Refusal = KeyRefusal | 'missing' | 'several';

type Authentication = { principal: Principal } | { refused: Refusal };

/** What a route's decorators say about its access, read once per route. */
interface RouteAccess {
  isPublic: boolean;
  monitor: boolean;
  scope: Scope;
}

const REFUSALS: Record<Refusal, string> = {
  missing: 'An API key is required: send Authorization: Bearer <key>',
  several: 'The request has more than one Authorization header: send one',
  invalid: 'The API key is not valid',
  expired: 'The API key has expired',
  revoked: 'The API key has been revoked',
};

/**
 * THE AUTH GUARD (global): every route but `@Public()` ones passes here before it runs.
 *
 * 1. Keys not required (AUTH_REQUIRED=false, or unset with no key created yet): the request is
 *    the local operator's (an admin), unthrottled.
 * 2. Otherwise the key comes from `Authorization: Bearer <key>` only (never the query string, and
 *    not from a request with two such headers) and is checked (`ApiKeysService.check`); on `@MonitorRoute()` routes METRICS_TOKEN is accepted too.
 * 3. The rate limit counts the request (per key, or per address without a valid key).
 * 4. No valid key: 401 `unauthorized`. A key without the route's scope (`@RequireScope`, admin
 *    when the route names none): 403 `forbidden`.
 * 5. A route about one session or task (`/api/v1/tasks/:id...`, `/api/v1/sessions/:id...`)
 *    answers 404 to a key that does not own it (`OwnedRoutes`).
 * The principal is left on the request (`@CurrentPrincipal()`), for services and logs.
 */
@Injectable()
export class ApiAccessGuard implements CanActivate {
  /** Each route handler's access, with the class it was read for (a handler may be inherited). */
  private readonly routeAccess = new WeakMap<object, { owner: object; access: RouteAccess }>();

  constructor(
    private readonly reflector: Reflector,
    private readonly config: AppConfig,
    private readonly keys: ApiKeysService,
    private readonly throttler: ApiThrottlerGuard,
    private readonly owned: OwnedRoutes,
  ) {}

  /**
   * The verdict on a request for a route is reached once: asked again about the same request and
   * route handler (the status read's fast path asks first and, when it hands the request on,
   * Nest's pipeline asks again), the guard answers with the same promise, so the rate limit
   * counts each request once. Asked about another handler, it judges afresh.
   */
  canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<JudgedRequest>();
    const handler = context.getHandler();
    if (req[VERDICT]?.handler !== handler) {
      req[VERDICT] = { handler, verdict: this.judge(context) };
    }
    return req[VERDICT].verdict;
  }

  private async judge(context: ExecutionContext): Promise<boolean> {
    const { isPublic, monitor, scope } = this.accessOf(context);
    if (isPublic) return true;
    const http = context.switchToHttp();
    const req = http.getRequest<RequestWithPrincipal>();
    const required =
      this.keys.knownRequired(this.config.AUTH_REQUIRED) ??
      (await this.keys.required(this.config.AUTH_REQUIRED, monitor));
    if (!required) {
      req.principal = LOCAL_PRINCIPAL;
      return true;
    }
    const auth: Authentication = hasSeveralAuthorizations(req.rawHeaders)
      ? { refused: 'several' }
      : await this.authenticate(req.headers.authorization, monitor);
    if ('principal' in auth) req.principal = auth.principal;
    if (this.config.RATE_LIMIT_PER_MINUTE > 0) await this.throttler.canActivate(context);
    if ('refused' in auth) {
      http.getResponse<Response>().setHeader('WWW-Authenticate', 'Bearer');
      throw new DomainError(ErrorCode.Unauthorized, REFUSALS[auth.refused]);
    }
    const { principal } = auth;
    if (principal.kind === 'monitor') return true;
    if (!hasScope(principal, scope)) {
      throw new DomainError(ErrorCode.Forbidden, `This API key lacks the ${scope} scope`, {
        required_scope: scope,
      });
    }
    const route = req.route as { path?: string } | undefined;
    await this.owned.check(route?.path, req.params?.id, principal);
    return true;
  }

  /** The route's `@Public()`, `@MonitorRoute()` and `@RequireScope()` (admin when it names none). */
  private accessOf(context: ExecutionContext): RouteAccess {
    const handler = context.getHandler();
    const owner = context.getClass();
    const cached = this.routeAccess.get(handler);
    if (cached?.owner === owner) return cached.access;
    const targets = [handler, owner];
    const access: RouteAccess = {
      isPublic: this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets) ?? false,
      monitor: this.reflector.getAllAndOverride<boolean>(MONITOR_ROUTE, targets) ?? false,
      scope:
        this.reflector.getAllAndOverride<Scope | undefined>(REQUIRED_SCOPE, targets) ?? 'admin',
    };
    this.routeAccess.set(handler, { owner, access });
    return access;
  }

  private async authenticate(
    header: string | undefined,
    monitor: boolean,
  ): Promise<Authentication> {
    const token = bearerToken(header);
    if (token === null) return { refused: 'missing' };
    const metricsToken = this.config.METRICS_TOKEN;
    if (monitor && metricsToken !== undefined && prefixOf(token) === null) {
      if (tokenMatches(token, metricsToken)) return { principal: MONITOR_PRINCIPAL };
    }
    return this.keys.check(token);
  }
}
