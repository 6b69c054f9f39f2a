import { ArgumentsHost, BadRequestException, Logger, NotFoundException } from '@nestjs/common';
import { DomainError, ErrorCode } from 'src/common/errors/domain-error';
import { httpStatusOf } from 'src/common/errors/error-status';
import { AllExceptionsFilter, ErrorBody } from 'src/common/http/all-exceptions.filter';
import { RequestDenials } from 'src/common/http/request-denials';
import { RequestWithId } from 'src/common/http/request-id';

interface Captured {
  status?: number;
  body?: ErrorBody;
}

function run(exception: unknown, originalUrl = '/x'): Captured {
  const captured: Captured = {};
  const req = {
    method: 'GET',
    originalUrl,
    headers: {},
    requestId: 'rid-1',
  } as unknown as RequestWithId;
  const res = {
    headersSent: false,
    status(code: number) {
      captured.status = code;
      return this;
    },
    json(body: ErrorBody) {
      captured.body = body;
      return this;
    },
  };
  const host = {
    switchToHttp: () => ({ getRequest: () => req, getResponse: () => res }),
  } as unknown as ArgumentsHost;
  new AllExceptionsFilter(new RequestDenials()).catch(exception, host);
  return captured;
}

describe('AllExceptionsFilter', () => {
  let logged: string[];
  let warned: string[];
  beforeEach(() => {
    logged = [];
    warned = [];
    jest.spyOn(Logger.prototype, 'error').mockImplementation((message: unknown) => {
      logged.push(String(message));
    });
    jest.spyOn(Logger.prototype, 'warn').mockImplementation((message: unknown) => {
      warned.push(String(message));
    });
  });
  afterEach(() => jest.restoreAllMocks());

  it('maps a domain error to its status with code, message, details and request id', () => {
    expect(run(new DomainError(ErrorCode.TaskNotDeletable, 'busy', { status: 'RUNNING' }))).toEqual(
      {
        status: 409,
        body: {
          code: 'task_not_deletable',
          message: 'busy',
          details: { status: 'RUNNING' },
          request_id: 'rid-1',
        },
      },
    );
    expect(logged).toEqual([]);
  });

  it('answers an unknown error with a bare 500 and logs the detail with the request id', () => {
    const error = new Error('QueryFailedError: SELECT * FROM secrets WHERE password = "x"');
    const out = run(error);
    expect(out).toEqual({
      status: 500,
      body: { code: 'internal_error', message: 'Internal server error', request_id: 'rid-1' },
    });
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain('request_id=rid-1');
    expect(logged[0]).toContain('SELECT * FROM secrets');
  });

  it('logs a 5xx with the path only: the query string may hold a secret', () => {
    run(new Error('boom'), '/api/v1/tasks?limit=1&access_token=s3cret');
    run(new DomainError(ErrorCode.ShuttingDown, 'The server is shutting down'), '/x?token=s3cret');
    expect(logged[0]).toMatch(/^GET \/api\/v1\/tasks -> 500 /);
    expect(warned[0]).toMatch(/^GET \/x -> 503 /);
    expect([...logged, ...warned].join('\n')).not.toContain('s3cret');
  });

  it('says a 5xx the code meant (shutting down) as a warning, without a stack', () => {
    const out = run(new DomainError(ErrorCode.ShuttingDown, 'The server is shutting down'));
    expect(out).toMatchObject({ status: 503, body: { code: 'shutting_down' } });
    expect(logged).toEqual([]);
    expect(warned).toEqual([
      'GET /x -> 503 [request_id=rid-1] shutting_down: The server is shutting down',
    ]);
  });

  it('turns the router 404 into route_not_found and other framework 4xx into bad_request', () => {
    expect(run(new NotFoundException('Cannot GET /nope')).body?.code).toBe('route_not_found');
    expect(run(new BadRequestException('nope'))).toMatchObject({
      status: 400,
      body: { code: 'bad_request' },
    });
  });

  it('reports a lost database connection as 503 database_unavailable', () => {
    const error = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:3306'), {
      code: 'ECONNREFUSED',
    });
    expect(run(error)).toMatchObject({ status: 503, body: { code: 'database_unavailable' } });
    expect(JSON.stringify(run(error).body)).not.toContain('127.0.0.1');
  });

  it('has a 4xx or 5xx status for every error code', () => {
    for (const code of Object.values(ErrorCode)) {
      expect(httpStatusOf(code)).toBeGreaterThanOrEqual(400);
    }
    expect(httpStatusOf(ErrorCode.PayloadTooLarge)).toBe(413);
    expect(httpStatusOf(ErrorCode.ProjectPathNotAllowed)).toBe(403);
  });
});
