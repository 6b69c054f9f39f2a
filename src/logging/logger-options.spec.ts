import { PassThrough } from 'node:stream';
import pino from 'pino';
import { loadConfig } from 'src/config';
import { loggerOptions } from 'src/logging/logger-options';
import { SecretScrubber } from 'src/logging/secret-scrubber';

const KEY = 'cta_0123456789ab_q0Vb3c2pX9sJ1kR7mN4tY6wZ8aE5fH2gL0iU3oP7dSx';

/** What a logger built from `loggerOptions` writes for one line (LOG_FORMAT given). */
function written(format: string, fields: Record<string, unknown>, message: string): string {
  const out = new PassThrough();
  let text = '';
  out.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const params = loggerOptions(
    loadConfig({ LOG_FORMAT: format }),
    new SecretScrubber(['db-password-123']),
    out as unknown as NodeJS.WriteStream,
  );
  const [options, stream] = params.pinoHttp as [pino.LoggerOptions, NodeJS.WritableStream];
  pino(options, stream).info(fields, message);
  return text;
}

describe('logger options', () => {
  it('writes one JSON object per line, with secrets blanked and line breaks kept inside the field', () => {
    const text = written(
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

  it('writes readable text for a terminal, a line break in a message shown escaped', () => {
    const text = written('pretty', {}, `first\nsecond ${KEY}`);
    expect(text).toContain('first\\nsecond cta_0123456789ab_[REDACTED]');
    expect(text).not.toContain(KEY);
    expect(text.trim().split('\n')).toHaveLength(1);
  });
});
