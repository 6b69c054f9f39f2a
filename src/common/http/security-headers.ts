import type { NextFunction, Request, RequestHandler, Response } from 'express';
import helmet from 'helmet';

/** The OpenAPI explorer's paths (`/docs` and its JSON and YAML documents). */
export const OPENAPI_PATHS: readonly string[] = ['/docs', '/docs-json', '/docs-yaml'];

/** Helmet's security headers for every API answer: a policy that lets nothing load or frame it. */
export function apiSecurityHeaders(): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
    },
  });
}

/**
 * Security headers (helmet): the API's (`apiSecurityHeaders`); the OpenAPI explorer gets what
 * Swagger UI needs from its own origin (its inline styles included).
 */
export function securityHeaders(): (req: Request, res: Response, next: NextFunction) => void {
  const api = apiSecurityHeaders();
  const docs = helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        frameAncestors: ["'none'"],
      },
    },
  });
  return (req, res, next) =>
    (OPENAPI_PATHS.some((p) => req.path === p || req.path.startsWith(`${p}/`)) ? docs : api)(
      req,
      res,
      next,
    );
}

/**
 * The headers a helmet middleware sets, as `[name, value, name, value, ...]` (the form
 * `writeHead` takes fastest): run once against a recorder (helmet's headers depend on its
 * options, never on the request).
 */
export function headersSetBy(middleware: RequestHandler): string[] {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader: (name: string, value: string | number) => {
      headers[name] = String(value);
    },
    removeHeader: (name: string) => {
      delete headers[name];
    },
  };
  middleware({} as Request, recorder as unknown as Response, () => undefined);
  return Object.entries(headers).flat();
}
