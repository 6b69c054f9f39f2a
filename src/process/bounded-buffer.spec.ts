import { BoundedBuffer } from 'src/process/bounded-buffer';

describe('BoundedBuffer', () => {
  it('keeps everything while under the limit', () => {
    const b = new BoundedBuffer(100);
    b.push(Buffer.from('hello '));
    b.push(Buffer.from('world'));
    expect(b.toString()).toBe('hello world');
    expect(b.truncated).toBe(false);
    expect(b.totalBytes).toBe(11);
  });

  it('keeps head and tail with a marker naming the cut bytes', () => {
    const b = new BoundedBuffer(10);
    b.push(Buffer.from('ABCDE'));
    b.push(Buffer.from('xxxxxxxxxx'));
    b.push(Buffer.from('VWXYZ'));
    expect(b.truncated).toBe(true);
    expect(b.totalBytes).toBe(20);
    expect(b.toString()).toBe('ABCDE\n[... 10 bytes cut ...]\nVWXYZ');
  });

  it('handles one chunk larger than the whole limit', () => {
    const b = new BoundedBuffer(6);
    b.push(Buffer.from('0123456789'));
    expect(b.toString()).toBe('012\n[... 4 bytes cut ...]\n789');
  });

  it('stays bounded under many small pushes', () => {
    const b = new BoundedBuffer(1000);
    for (let i = 0; i < 100_000; i++) b.push(Buffer.from(`line ${i}\n`));
    const s = b.toString();
    expect(s.length).toBeLessThan(1100);
    expect(s.startsWith('line 0\n')).toBe(true);
    expect(s.endsWith('line 99999\n')).toBe(true);
    expect(b.tailString(11)).toBe('line 99999\n');
  });

  it('rejects a nonsense limit', () => {
    expect(() => new BoundedBuffer(0)).toThrow(RangeError);
  });
});
