import { scrubbingDestination, SecretScrubber } from 'src/logging/secret-scrubber';

const KEY = 'cta_0123456789ab_q0Vb3c2pX9sJ1kR7mN4tY6wZ8aE5fH2gL0iU3oP7dSx';

describe('SecretScrubber', () => {
  const scrubber = new SecretScrubber([
    'db-pa"ss\\word',
    'metrics-token-123456',
    'short',
    undefined,
  ]);

  it('keeps a key prefix and drops the rest of the key', () => {
    expect(scrubber.scrub(`used ${KEY}!`)).toBe('used cta_0123456789ab_[REDACTED]!');
  });

  it('blanks bearer tokens and URL passwords', () => {
    expect(scrubber.scrub('Authorization: Bearer abc.def-ghi, next')).toBe(
      'Authorization: Bearer [REDACTED], next',
    );
    expect(scrubber.scrub('connect mysql://cta:hunter2@db:3306/x failed')).toBe(
      'connect mysql://cta:***@db:3306/x failed',
    );
    expect(scrubber.scrub('connect mysql://cta:hun@ter2@db:3306/x, not a@b')).toBe(
      'connect mysql://cta:***@db:3306/x, not a@b',
    );
  });

  it('blanks the exact values of the server secrets, raw and as JSON writes them', () => {
    expect(scrubber.scrub('token metrics-token-123456 seen')).toBe('token [REDACTED] seen');
    expect(scrubber.scrub(JSON.stringify({ msg: 'pw db-pa"ss\\word' }))).toBe(
      '{"msg":"pw [REDACTED]"}',
    );
  });

  it('leaves short values alone (they would blank ordinary words)', () => {
    expect(scrubber.scrub('a short line')).toBe('a short line');
  });

  it('scrubs every line written through the destination', async () => {
    const written: string[] = [];
    const target = {
      write: (chunk: string) => written.push(chunk) > 0,
    } as unknown as NodeJS.WritableStream;
    scrubbingDestination(target, scrubber).write(`{"msg":"${KEY}"}\n`);
    await new Promise((resolve) => setImmediate(resolve));
    expect(written).toEqual(['{"msg":"cta_0123456789ab_[REDACTED]"}\n']);
  });
});
