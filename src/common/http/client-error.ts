import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { Logger } from '@nestjs/common';
import { ErrorCode } from 'src/common/errors/domain-error';
import { httpStatusOf } from 'src/common/errors/error-status';
import type { ErrorBody } from 'src/common/http/all-exceptions.filter';
import { requestIdOf, type RequestWithId } from 'src/common/http/request-id';

const logger = new Logger('HTTP');

/** Node's parser and timeout errors that are not a plain 400, with their code and message. */
const PARSER_ERRORS: Record<string, [ErrorCode, string]> = {
  HPE_HEADER_OVERFLOW: [ErrorCode.HeadersTooLarge, 'Request line and headers are too large'],
  HPE_CHUNK_EXTENSIONS_OVERFLOW: [ErrorCode.PayloadTooLarge, 'Chunk extensions are too large'],
  ERR_HTTP_REQUEST_TIMEOUT: [ErrorCode.RequestTimeout, 'The request was not received in time'],
};

/**
 * Requests Node's HTTP parser refuses before Express sees them (malformed request lines or
 * headers, headers over Node's size limit, conflicting Content-Length/Transfer-Encoding) get the
 * usual error body too, instead of Node's bare `400 Bad Request`: `headers_too_large` (431),
 * `payload_too_large` (413), `request_timeout` (408, headers or body too slow) or `bad_request`
 * (400), with a fresh request id (or, for a request Express already has, its own). The connection
 * is closed afterwards; a response already being sent is cut off instead.
 */
export function answerClientErrorsWithJson(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const [code, message] = PARSER_ERRORS[error.code ?? ''] ?? [
      ErrorCode.BadRequest,
      'Malformed HTTP request',
    ];
    const status = httpStatusOf(code);
    // A request whose headers Express already has (its body came too slowly) keeps its id, and its
    // response's status says what the client got, for the line logged when it closes.
    const inFlight = (socket as { _httpMessage?: ServerResponse })._httpMessage;
    if (inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    if (inFlight !== undefined) inFlight.statusCode = status;
    const requestId =
      inFlight === undefined ? randomUUID() : requestIdOf(inFlight.req as RequestWithId);
    const body = JSON.stringify({ code, message, request_id: requestId } satisfies ErrorBody);
    // A request Express never had gets no request line: this one says it was answered (what it
    // held is not repeated: it is what the parser could not read).
    if (inFlight === undefined) {
      logger.warn(`refused by the HTTP parser -> ${status} [request_id=${requestId}] ${code}`);
    }
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Request-Id: ${requestId}\r\n` +
        'Connection: close\r\n\r\n' +
        body,
    );
  });
}
