import { decideBind, isLoopback } from 'src/auth/bind-policy';

describe('decideBind', () => {
  it.each([
    ['127.0.0.1', undefined, 0],
    ['127.0.0.1', undefined, 2],
    ['localhost', false, 0],
    ['::1', true, 1],
  ] as const)('lets %s start (AUTH_REQUIRED=%s, %i keys)', (host, auth, keys) => {
    expect(decideBind(host, auth, keys).refusal).toBeNull();
  });

  it('says whether keys are required, in the start-up line', () => {
    expect(decideBind('127.0.0.1', undefined, 0).access).toMatch(/no API key required/);
    expect(decideBind('127.0.0.1', undefined, 3).access).toMatch(/API keys required \(3 key/);
    expect(decideBind('127.0.0.1', false, 3).access).toMatch(/AUTH_REQUIRED=false/);
  });

  it('refuses another interface unless keys are required and one exists', () => {
    expect(decideBind('0.0.0.0', undefined, 5).refusal).toMatch(
      /HOST=0.0.0.0 listens beyond this machine.*set AUTH_REQUIRED=true/,
    );
    expect(decideBind('10.1.2.3', true, 0).refusal).toMatch(
      /AUTH_REQUIRED=true but no API key exists yet: create one first \(npm run api-key/,
    );
    expect(decideBind('0.0.0.0', true, 1)).toEqual({
      refusal: null,
      warnings: [],
      access: expect.stringMatching(/API keys required/),
    });
  });

  it('lets AUTH_REQUIRED=false open another interface only with a loud warning', () => {
    const decision = decideBind('0.0.0.0', false, 0);
    expect(decision.refusal).toBeNull();
    expect(decision.warnings).toEqual([
      expect.stringMatching(
        /AUTH_REQUIRED=false.*ANYONE WHO CAN REACH THIS PORT CAN RUN ANY PROGRAM/,
      ),
    ]);
  });

  it('warns when keys are required on loopback but none exists', () => {
    expect(decideBind('127.0.0.1', true, 0).warnings).toEqual([
      expect.stringMatching(/no API key exists/),
    ]);
  });
});

describe('isLoopback', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['localhost', true],
    ['::1', true],
    ['::ffff:127.0.0.1', true],
    ['0.0.0.0', false],
    ['::', false],
    ['192.168.1.10', false],
    ['127.0.0.1.evil.example', false],
  ])('%s is loopback: %s', (host, expected) => {
    expect(isLoopback(host)).toBe(expected);
  });
});
