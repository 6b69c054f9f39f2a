/** A request's path without its query string, which is never trusted to be free of secrets. */
export function pathWithoutQuery(req: { originalUrl?: string; url?: string }): string {
  const url = req.originalUrl ?? req.url ?? '';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}
