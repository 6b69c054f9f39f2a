import { METHODS } from 'node:http';
import type { Request } from 'express';

/** What `allowedMethods` reads of a layer of Express's router: a route's and its path's match. */
interface RouterLayer {
  route?: { methods: Record<string, boolean | undefined> };
  match(path: string): unknown;
}

/**
 * The methods the application's routes answer at the request's path, upper case and sorted (HEAD
 * wherever GET is, as Express answers it): the `Allow` header of a 405. Empty when no route has
 * that path (a 404). A route taking every method is middleware (Nest mounts it so, for
 * `{*path}`), which answers nothing itself: it is not counted.
 */
export function allowedMethods(req: Request): string[] {
  const app = req.app as unknown as { router?: { stack?: RouterLayer[] } } | undefined;
  const methods = new Set<string>();
  for (const layer of app?.router?.stack ?? []) {
    if (layer.route === undefined || !layer.match(req.path)) continue;
    const answered = Object.keys(layer.route.methods).filter((m) => layer.route?.methods[m]);
    if (METHODS.every((m) => answered.includes(m.toLowerCase()))) continue;
    for (const method of answered) methods.add(method.toUpperCase());
  }
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods].sort();
}
