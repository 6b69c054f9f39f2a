import { Injectable } from '@nestjs/common';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { DocsGate, ErrorCode, RequestDenials, sendError } from 'src/common';
import { AppConfig } from 'src/config';
import { bearerToken, hasSeveralAuthorizations } from 'src/auth/api-key-secret';
import { ApiKeysService } from 'src/auth/api-keys.service';

/**
 * The OpenAPI explorer needs a key (any valid one) whenever keys are required, like every route
 * but `/health/live`. A browser sends none on its own: use the JSON document (`/docs-json`) with
 * the header, or a browser extension that adds it.
 */
@Injectable()
export class ApiKeyDocsGate extends DocsGate {
  constructor(
    private readonly config: AppConfig,
    private readonly keys: ApiKeysService,
    private readonly denials: RequestDenials,
  ) {
    super();
  }

  handler(): RequestHandler {
    return (req: Request, res: Response, next: NextFunction): void => {
      this.allow(req).then(
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
        () => sendError(req, res, this.denials, ErrorCode.Internal, 'Internal server error'),
      );
    };
  }

  private async allow(req: Request): Promise<boolean> {
    if (!(await this.keys.required(this.config.AUTH_REQUIRED))) return true;
    if (hasSeveralAuthorizations(req.rawHeaders)) return false;
    const token = bearerToken(req.headers.authorization);
    return token !== null && 'principal' in (await this.keys.check(token));
  }
}
