import type { RequestHandler } from 'express';

/**
 * Who may read the OpenAPI explorer (`/docs`, `/docs-json`, `/docs-yaml`). Those routes are served
 * by Express directly, outside Nest's guards, so the auth module provides this gate and
 * `configureApp` puts it in front of them.
 */
export abstract class DocsGate {
  abstract handler(): RequestHandler;
}
