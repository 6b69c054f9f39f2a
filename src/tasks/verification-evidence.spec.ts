import { readVerification } from 'src/tasks/verification-evidence';

describe('readVerification', () => {
  const baseline = { base_commit: 'abc', baseline: { command: ['npm', 'test'] } };

  it('reads evidence with a verdict, and evidence not judged yet (a null verdict)', () => {
    const judged = { ...baseline, verdict: 'verified', reason: 'verified', checked_at: 'x' };
    expect(readVerification(JSON.stringify(judged))).toEqual(judged);
    const unjudged = { ...baseline, verdict: null, reason: null, checked_at: null };
    expect(readVerification(JSON.stringify(unjudged))).toEqual(unjudged);
  });

  it('reads the placeholder verdict stored before a verdict could be null as no verdict', () => {
    const stored = {
      ...baseline,
      verdict: 'tests_failed',
      reason: 'not verified yet',
      checked_at: '2026-12-07T06:00:00.000Z',
    };
    expect(readVerification(JSON.stringify(stored))).toEqual({
      ...baseline,
      verdict: null,
      reason: null,
      checked_at: null,
    });
  });

  it('reads nothing from text that is not evidence', () => {
    for (const text of [null, 'not json', 'null', '42', '{"verdict":7}']) {
      expect(readVerification(text)).toBeNull();
    }
  });
});
