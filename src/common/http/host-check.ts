import type { IncomingMessage, Server, ServerOptions } from 'node:http';
import { isIP } from 'node:net';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ErrorCode } from 'src/common/errors/domain-error';
import { sendError } from 'src/common/http/error-response';
import { RequestDenials } from 'src/common/http/request-denials';

/** The host name of a Host header value (`name:port`, `[v6]:port`), lower-cased; null if malformed. */
export function hostNameOf(host: string): string | null {
  const bracketed = /^\[([0-9a-f:.]+)\](?::\d+)?$/i.exec(host);
  if (bracketed) return bracketed[1].toLowerCase();
  const plain = /^([^:[\]\s]+)(?::\d+)?$/.exec(host);
  return plain ? plain[1].toLowerCase().replace(/\.$/, '') : null;
}

/**
 * True when a request addressed to `host` may be answered: an IP address (what a client that
 * reaches the bound address directly sends), `localhost`, or a name in `allowed` (`.example.com`
 * allows its subdomains and itself). A page on another site that rebinds its own DNS name to this
 * server's address sends that name, and is refused. A request without Host passes (HTTP/1.0; an
 * HTTP/1.1 one is refused before, see `lacksRequiredHost`).
 */
export function isAllowedHost(host: string | undefined, allowed: readonly string[]): boolean {
  if (host === undefined || host === '') return true;
  const name = hostNameOf(host);
  if (name === null) return false;
  if (isIP(name) !== 0 || name === 'localhost') return true;
  return allowed.some((entry) => {
    // A fully qualified `api.example.org.` names what the request's `api.example.org` does.
    const rule = entry.toLowerCase().replace(/\.$/, '');
    return rule.startsWith('.') ? name === rule.slice(1) || name.endsWith(rule) : name === rule;
  });
}

/** True for an HTTP/1.1 request without a Host header, which HTTP/1.1 forbids (RFC 9112 3.2). */
export function lacksRequiredHost(req: Pick<IncomingMessage, 'httpVersion' | 'headers'>): boolean {
  return req.httpVersion === '1.1' && req.headers.host === undefined;
}

/**
 * Lets an HTTP/1.1 request without Host past Node's server, which would otherwise answer it
 * itself with a bare `400 Bad Request` (its `requireHostHeader`), so that `hostCheck` refuses it
 * with the usual error body. Node reads the option from the server on each request; Nest creates
 * the server without options, so it is set here (typed only as an option of `createServer`).
 */
export function leaveMissingHostToHostCheck(server: Server): void {
  (server as Server & Pick<ServerOptions, 'requireHostHeader'>).requireHostHeader = false;
}

/**
 * Refuses an HTTP/1.1 request without Host (400 `bad_request`, see `lacksRequiredHost`) and one
 * whose Host is not allowed (403 `host_not_allowed`, see `isAllowedHost`).
 */
export function hostCheck(allowed: readonly string[], denials: RequestDenials): RequestHandler {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (lacksRequiredHost(req)) {
      sendError(req, res, denials, ErrorCode.BadRequest, 'An HTTP/1.1 request needs a Host header');
      return;
    }
    if (isAllowedHost(req.headers.host, allowed)) return next();
    sendError(
      req,
      res,
      denials,
      ErrorCode.HostNotAllowed,
      'This server does not answer to that Host; add it to ALLOWED_HOSTS',
    );
  };
}
