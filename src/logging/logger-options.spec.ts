import type { IncomingMessage, ServerResponse } from 'node:http';
import { PassThrough } from 'node:stream';
import pino from 'pino';
import { loadConfig } from 'src/config';
import { logAnsweredRequest } from 'src/logging/answered-request-line';
import { isoTime, loggerOptions } from 'src/logging/logger-options';
import { SecretScrubber } from 'src/logging/secret-scrubber';

const KEY = 'cta_0123456789ab_q0Vb3c2pX9sJ1kR7mN4tY6wZ8aE5fH2gL0iU3oP7dSx';

/** What a logger built from `loggerOptions` (LOG_FORMAT given) writes for what `log` does with it. */
async function writtenBy(
  format: string,
  log: (logger: pino.Logger) => void,
  level = 'log',
): Promise<string> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const params = loggerOptions(
    loadConfig({ LOG_FORMAT: format, LOG_LEVEL: level }),
    new SecretScrubber(['db-password-123']),
    out as unknown as NodeJS.WriteStream,
  );
  const [options, stream] = params.pinoHttp as [pino.LoggerOptions, NodeJS.WritableStream];
  log(pino(options, stream));
  await new Promise((resolve) => setImmediate(resolve));
  return text;
}

/** What a logger built from `loggerOptions` writes for one line (LOG_FORMAT given), once written. */
function written(
  format: string,
  fields: Record<string, unknown>,
  message: string,
): Promise<string> {
  return writtenBy(format, (logger) => logger.info(fields, message));
}

/** The JSON lines in `text`. */
function linesOf(text: string): Record<string, unknown>[] {
  return text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('logger options', () => {
  it('writes one JSON object per line, with secrets blanked and line breaks kept inside the field', async () => {
    const text = await written(
      'json',
      { path: '/p\n{"level":"fatal"}' },
      `key ${KEY} pw db-password-123`,
    );
    const lines = text.trim().split('\n');
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]) as Record<string, unknown>;
    expect(line).toMatchObject({
      level: 'info',
      path: '/p\n{"level":"fatal"}',
      msg: 'key cta_0123456789ab_[REDACTED] pw [REDACTED]',
    });
    expect(line.time).toMatch(/^\d{4}-\d\d-\d\dT.*Z$/);
  });

  it('writes readable text for a terminal, a line break in a message shown escaped', async () => {
    const text = await written('pretty', {}, `first\nsecond ${KEY}`);
    expect(text).toContain('first\\nsecond cta_0123456789ab_[REDACTED]');
    expect(text).not.toContain(KEY);
    expect(text.trim().split('\n')).toHaveLength(1);
  });

  it('blanks authorization, password and headers one level down in what is logged', async () => {
    const [line] = linesOf(
      await written(
        'json',
        { err: { password: 'pw', authorization: 'a', headers: { x: 1 }, kept: 'k' } },
        'failed',
      ),
    );
    expect(line.err).toEqual({
      password: '[REDACTED]',
      authorization: '[REDACTED]',
      headers: '[REDACTED]',
      kept: 'k',
    });
  });

  it("writes the line of a request answered outside pino-http with pino-http's fields, secrets in its values blanked, the root's redaction unchanged", async () => {
    const req = {
      method: 'GET',
      url: `/api/v1/tasks/${KEY}/status?token=t`,
      headers: { authorization: 'Bearer abc' },
      socket: { remoteAddress: '127.0.0.1' },
      route: { path: '/api/v1/tasks/:id/status' },
      requestId: 'r-1',
    } as unknown as IncomingMessage;
    const res = { statusCode: 200 } as ServerResponse;
    const lines = linesOf(
      await writtenBy('json', (logger) => {
        logAnsweredRequest(logger, req, res, 3);
        logger.info({ err: { password: 'pw' } }, 'after');
      }),
    );
    expect(lines[0]).toMatchObject({
      level: 'info',
      msg: 'GET /api/v1/tasks/:id/status -> 200',
      req: {
        id: 'r-1',
        method: 'GET',
        path: '/api/v1/tasks/cta_0123456789ab_[REDACTED]/status',
        remote_address: '127.0.0.1',
      },
      res: { status: 200 },
      duration_ms: 3,
      key_prefix: null,
      route: '/api/v1/tasks/:id/status',
    });
    expect(JSON.stringify(lines[0])).not.toContain('abc');
    expect(lines[1]).toMatchObject({ msg: 'after', err: { password: '[REDACTED]' } });
    expect(Object.keys(lines[0])).toEqual([
      'level',
      'time',
      'pid',
      'hostname',
      'req',
      'res',
      'duration_ms',
      'key_prefix',
      'route',
      'msg',
    ]);
  });

  it('writes a request line only at a level the logger writes: a 404 at warn, a 200 not', async () => {
    const req = {
      method: 'GET',
      url: '/api/v1/tasks/"x\\/status',
      headers: {},
      socket: { remoteAddress: '::1' },
      principal: { keyPrefix: 'cta_0123456789ab' },
    } as unknown as IncomingMessage;
    const text = await writtenBy(
      'json',
      (logger) => {
        logAnsweredRequest(logger, req, { statusCode: 200 } as ServerResponse, 1);
        logAnsweredRequest(logger, req, { statusCode: 404 } as ServerResponse, 2);
      },
      'warn',
    );
    expect(linesOf(text)).toEqual([
      {
        level: 'warn',
        time: expect.any(String) as string,
        pid: process.pid,
        hostname: expect.any(String) as string,
        req: expect.objectContaining({
          method: 'GET',
          path: '/api/v1/tasks/"x\\/status',
        }) as object,
        res: { status: 404 },
        duration_ms: 2,
        key_prefix: 'cta_0123456789ab',
        route: null,
        msg: 'GET (no route) -> 404',
      },
    ]);
  });

  it("writes pino's ISO time, made once per millisecond", () => {
    jest.useFakeTimers({ now: Date.parse('2026-12-04T10:00:00.123Z') });
    try {
      const first = isoTime();
      expect(first).toBe(',"time":"2026-12-04T10:00:00.123Z"');
      expect(isoTime()).toBe(first);
      jest.setSystemTime(Date.parse('2026-12-04T10:00:00.124Z'));
      expect(isoTime()).toBe(',"time":"2026-12-04T10:00:00.124Z"');
    } finally {
      jest.useRealTimers();
    }
  });
});
