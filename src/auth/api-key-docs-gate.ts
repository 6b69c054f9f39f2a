import { Injectable } from '@nestjs/common';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { RequestWithPrincipal } from 'src/access';
import { DocsGate, DomainError, ErrorCode, RequestDenials, sendError } from 'src/common';
import { AppConfig } from 'src/config';
import { bearerToken, hasSeveralAuthorizations } from 'src/auth/api-key-secret';
import { ApiKeysService } from 'src/auth/api-keys.service';
import { ApiThrottlerGuard } from 'src/auth/api-throttler.guard';

/**
 * The OpenAPI explorer needs a key (any valid one) whenever keys are required, like every route
 * but `/health/live`. A browser sends none on its own: use the JSON document (`/docs-json`) with
 * the header, or a browser extension that adds it. Its requests count against the rate limit as
 * the API's do (per key, or per client address without a valid one: guessing keys here is
 * limited too).
 */
@Injectable()
export class ApiKeyDocsGate extends DocsGate {
  constructor(
    private readonly config: AppConfig,
    private readonly keys: ApiKeysService,
    private readonly denials: RequestDenials,
    private readonly throttler: ApiThrottlerGuard,
  ) {
    super();
  }

  handler(): RequestHandler {
    return (req: Request, res: Response, next: NextFunction): void => {
      this.allow(req, res, next).then(
        (allowed) => {
          if (allowed) next();
          else {
            res.setHeader('WWW-Authenticate', 'Bearer');
            sendError(
              req,
              res,
              this.denials,
              ErrorCode.Unauthorized,
              'An API key is required to read the API documentation',
            );
          }
        },
        (error: unknown) =>
          error instanceof DomainError
            ? sendError(req, res, this.denials, error.code, error.message, error.details)
            : sendError(req, res, this.denials, ErrorCode.Internal, 'Internal server error'),
      );
    };
  }

  private async allow(req: Request, res: Response, next: NextFunction): Promise<boolean> {
    if (!(await this.keys.required(this.config.AUTH_REQUIRED))) return true;
    const token = hasSeveralAuthorizations(req.rawHeaders)
      ? null
      : bearerToken(req.headers.authorization);
    const checked = token === null ? null : await this.keys.check(token);
    const valid = checked !== null && 'principal' in checked;
    if (valid) (req as RequestWithPrincipal).principal = checked.principal;
    if (this.config.RATE_LIMIT_PER_MINUTE > 0) {
      // The gate as the route the throttler sees: its class, and its handler for the metadata
      // the throttler looks for (none); never called through here.
      const context = new ExecutionContextHost(
        [req, res, next],
        ApiKeyDocsGate,
        // eslint-disable-next-line @typescript-eslint/unbound-method
        ApiKeyDocsGate.prototype.handler,
      );
      await this.throttler.canActivate(context);
    }
    return valid;
  }
}
