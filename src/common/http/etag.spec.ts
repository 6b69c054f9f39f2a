import { weakEtag } from 'src/common/http/etag';

/** Values Express 5's default ETag (the `etag` package, weak) gives the same bodies. */
describe('weakEtag', () => {
  it.each([
    ['{"id":"x","status":"RUNNING"}', 'W/"1d-yK1JkT9o1wAv+VuBYo+7WjXGGuc"'],
    ['', 'W/"0-2jmj7l5rSw0yVb/vlWAYkK/YBwk"'],
    ['{"message":"hé"}', 'W/"11-LggWMKQeP3jKB3TejrWbNuZ98MQ"'],
  ])('gives %j the ETag Express gives it', (body, expected) => {
    expect(weakEtag(body)).toBe(expected);
    expect(weakEtag(Buffer.from(body))).toBe(expected);
  });

  it('counts bytes, not characters, in the length', () => {
    expect(weakEtag('é')).toMatch(/^W\/"2-/);
    expect(weakEtag('é', 'latin1')).toMatch(/^W\/"1-/);
  });
});
