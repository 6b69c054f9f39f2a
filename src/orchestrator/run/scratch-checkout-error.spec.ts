import { ScratchCheckoutError } from 'src/orchestrator/run/scratch-checkout-error';

describe('ScratchCheckoutError', () => {
  it("keeps the cause's message as the reason, its first line only, cut when long", () => {
    const short = new ScratchCheckoutError(new Error('fatal: not a tree\nhint: more'));
    expect(short.reason).toBe('fatal: not a tree');
    expect(short.message).toBe('the scratch checkout could not be made: fatal: not a tree');
    const long = new ScratchCheckoutError(new Error('y'.repeat(400)));
    expect(long.reason).toBe(`${'y'.repeat(300)} [...]`);
    expect(new ScratchCheckoutError('not an error').reason).toBe('not an error');
  });
});
