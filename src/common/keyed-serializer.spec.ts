import { KeyedSerializer } from 'src/common/keyed-serializer';

/** A promise the test resolves. */
function gate(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((res) => (resolve = res));
  return { promise, resolve };
}

describe('KeyedSerializer', () => {
  it('runs calls with one key one after the other, in order, even when one fails', async () => {
    const serializer = new KeyedSerializer();
    const order: string[] = [];
    const first = gate();
    const a = serializer.run('k', async () => {
      order.push('a starts');
      await first.promise;
      order.push('a ends');
      throw new Error('a failed');
    });
    const b = serializer.run('k', () => {
      order.push('b runs');
      return Promise.resolve('b');
    });
    const c = serializer.run('k', () => {
      order.push('c runs');
      return Promise.resolve('c');
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual(['a starts']);
    first.resolve();
    await expect(a).rejects.toThrow('a failed');
    await expect(b).resolves.toBe('b');
    await expect(c).resolves.toBe('c');
    expect(order).toEqual(['a starts', 'a ends', 'b runs', 'c runs']);
  });

  it('lets calls with other keys run while one key waits', async () => {
    const serializer = new KeyedSerializer();
    const held = gate();
    const slow = serializer.run('one', () => held.promise);
    await expect(serializer.run('two', () => Promise.resolve('two'))).resolves.toBe('two');
    held.resolve();
    await slow;
  });
});
