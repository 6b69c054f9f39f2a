import { NdjsonLineSplitter } from 'src/claude-cli/stream-json/ndjson-line-splitter';

describe('NdjsonLineSplitter', () => {
  it('splits lines across chunk boundaries', () => {
    const s = new NdjsonLineSplitter(1024);
    expect(s.push(Buffer.from('{"a":1}\n{"b"'))).toEqual([
      { text: '{"a":1}', truncated: false, bytes: 7 },
    ]);
    expect(s.push(Buffer.from(':2}\r\n\n'))).toEqual([
      { text: '{"b":2}', truncated: false, bytes: 8 },
      { text: '', truncated: false, bytes: 0 },
    ]);
    expect(s.end()).toEqual([]);
  });

  it('returns an unterminated last line at the end', () => {
    const s = new NdjsonLineSplitter(1024);
    s.push(Buffer.from('tail'));
    expect(s.end()).toEqual([{ text: 'tail', truncated: false, bytes: 4 }]);
  });

  it('keeps a multi-byte character split across chunks intact', () => {
    const s = new NdjsonLineSplitter(1024);
    const bytes = Buffer.from('"é"\n');
    expect(s.push(bytes.subarray(0, 2))).toEqual([]);
    expect(s.push(bytes.subarray(2))).toEqual([{ text: '"é"', truncated: false, bytes: 4 }]);
  });

  it('cuts an over-long line to the cap and keeps only the cap in memory', () => {
    const s = new NdjsonLineSplitter(10);
    for (let i = 0; i < 1000; i++) expect(s.push(Buffer.alloc(1000, 'x'))).toEqual([]);
    const [line] = s.push(Buffer.from('yyy\nnext\n'));
    expect(line).toEqual({ text: 'xxxxxxxxxx', truncated: true, bytes: 1_000_003 });
    expect(s.end()).toEqual([]);
  });

  it('continues normally after a cut line', () => {
    const s = new NdjsonLineSplitter(4);
    expect(s.push(Buffer.from('abcdefgh\nab\n'))).toEqual([
      { text: 'abcd', truncated: true, bytes: 8 },
      { text: 'ab', truncated: false, bytes: 2 },
    ]);
  });
});
