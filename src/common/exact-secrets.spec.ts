import { ExactSecrets } from 'src/common/exact-secrets';

describe('ExactSecrets', () => {
  it('replaces each value, as written and JSON-escaped, and leaves values too short to search for', () => {
    const secrets = new ExactSecrets(['sk-ant-0123456789', 'pa"ss\\word-long', 'short', undefined]);
    expect(secrets.redact('key=sk-ant-0123456789; again sk-ant-0123456789')).toBe(
      'key=[REDACTED]; again [REDACTED]',
    );
    expect(secrets.redact(JSON.stringify({ p: 'pa"ss\\word-long' }))).toBe('{"p":"[REDACTED]"}');
    expect(secrets.redact('a short word')).toBe('a short word');
  });

  it('takes the longest first, so that a secret holding another goes whole', () => {
    const secrets = new ExactSecrets(['abcdefgh', 'abcdefgh-and-more']);
    expect(secrets.redact('x abcdefgh-and-more y abcdefgh')).toBe('x [REDACTED] y [REDACTED]');
  });
});
