import {
  NdjsonLineSplitter,
  SplitLine,
  SplitterOptions,
} from 'src/claude-cli/stream-json/ndjson-line-splitter';

/** Feeds `input` in chunks of `chunkSize` bytes and returns every line, the last one included. */
function split(
  input: string | Buffer,
  cap: number,
  chunkSize: number,
  options: SplitterOptions = {},
): SplitLine[] {
  const bytes = typeof input === 'string' ? Buffer.from(input) : input;
  const s = new NdjsonLineSplitter(cap, options);
  const lines: SplitLine[] = [];
  for (let i = 0; i < bytes.length; i += chunkSize)
    lines.push(...s.push(bytes.subarray(i, i + chunkSize)));
  return [...lines, ...s.end()];
}

const CHUNK_SIZES = [1, 2, 3, 5, 7, 64, 1 << 20];
const CUT = /\[\.\.\. (\d+) bytes cut\]$/;

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

  it('gives up a line whose structure alone overflows the cap plus the slack', () => {
    const s = new NdjsonLineSplitter(10, { slackBytes: 20 });
    for (let i = 0; i < 1000; i++) expect(s.push(Buffer.alloc(1000, 'x'))).toEqual([]);
    expect(s.push(Buffer.from('yyy\nnext\n'))).toEqual([
      { text: 'x'.repeat(30), truncated: true, bytes: 1_000_003 },
      { text: 'next', truncated: false, bytes: 4 },
    ]);
    expect(s.end()).toEqual([]);
  });

  it('continues normally after a cut line', () => {
    expect(split('abcdefgh\nab\n', 2, 3, { slackBytes: 2 })).toEqual([
      { text: 'abcd', truncated: true, bytes: 8 },
      { text: 'ab', truncated: false, bytes: 2 },
    ]);
  });

  it('shortens every long string past the cap, across chunk boundaries, keeping valid JSON', () => {
    const obj = { type: 'x', t: 'a'.repeat(100), u: 'b'.repeat(100), n: 1 };
    const input = JSON.stringify(obj);
    // A line within the cap is kept byte for byte, whatever it holds.
    const small = '{"s":"\\\\\\"é\\u0001"}';
    for (const size of CHUNK_SIZES) {
      const [before, line, ...rest] = split(`${small}\n${input}\n`, 20, size, {
        stringHeadBytes: 4,
      });
      expect(rest).toEqual([]);
      expect(before).toEqual({ text: small, truncated: false, bytes: Buffer.byteLength(small) });
      expect(line).toEqual({
        text: '{"type":"x","t":"aaaa[... 96 bytes cut]","u":"bbbb[... 96 bytes cut]","n":1}',
        truncated: false,
        shortened: true,
        bytes: input.length,
      });
      expect(JSON.parse(line.text)).toMatchObject({ type: 'x', n: 1 });
    }
  });

  it('keeps keys and short values that come after a long string (key order varies)', () => {
    const input = JSON.stringify({ result: 'r'.repeat(5000), type: 'result', session_id: 's1' });
    const [line] = split(input, 1024, 100);
    expect(line.shortened).toBe(true);
    const parsed = JSON.parse(line.text) as Record<string, string>;
    expect(parsed).toMatchObject({ type: 'result', session_id: 's1' });
    expect(parsed.result).toMatch(CUT);
    expect(Buffer.byteLength(line.text)).toBeLessThanOrEqual(1024 + 256 + 64);
  });

  it.each([
    ['escaped quotes and backslashes', '\\"'.repeat(40) + '\\\\'.repeat(40)],
    ['\\u escapes', '\\u00e9\\u0001\\u001F'.repeat(30)],
    ['surrogate pair escapes', '\\uD83D\\uDE00'.repeat(10) + '\\ud800x'.repeat(10)],
    ['multi-byte UTF-8', 'é漢😀'.repeat(30)],
    ['a mix', 'a\\"\\n\\t\\u0000é漢😀\\uD83D\\uDE00\\\\'.repeat(20)],
  ])('cuts a string of %s only at a safe point, wherever the cap falls', (_, rawValue) => {
    const before = '{"type":"x","z":"end","v":"';
    const input = `${before}${rawValue}"}`;
    const start = Buffer.byteLength(before);
    const whole = Buffer.byteLength(rawValue);
    for (let cap = start; cap < start + 80; cap++) {
      for (const size of [1, 3, 7, 1000]) {
        const [line] = split(input, cap, size, { stringHeadBytes: 0 });
        expect(line).toMatchObject({ truncated: false, shortened: true });
        const parsed = JSON.parse(line.text) as { type: string; v: string; z: string };
        expect(parsed.z).toBe('end');
        const cut = Number(CUT.exec(parsed.v)?.[1]);
        const keptRaw = Buffer.from(line.text.slice(before.length, line.text.indexOf('[... ')));
        // The kept bytes are exactly the start of the original string; the marker counts the rest.
        expect(keptRaw.length).toBeGreaterThanOrEqual(cap - start);
        expect(keptRaw.length + cut).toBe(whole);
        expect(keptRaw.equals(Buffer.from(input).subarray(start, start + keptRaw.length))).toBe(
          true,
        );
        const kept = parsed.v.replace(CUT, '');
        expect(kept).not.toContain('\ufffd');
        expect(kept).not.toMatch(/[\ud800-\udbff]$/);
      }
    }
  });

  it('keeps the whole \\uXXXX escape and a low surrogate after a high one at the cut', () => {
    const input = '{"v":"ab\\u00e9\\uD83D\\uDE00cdefgh"}';
    expect(split(input, 9, 1, { stringHeadBytes: 0 })[0].text).toBe(
      '{"v":"ab\\u00e9[... 18 bytes cut]"}',
    );
    expect(split(input, 15, 1, { stringHeadBytes: 0 })[0].text).toBe(
      '{"v":"ab\\u00e9\\uD83D\\uDE00[... 6 bytes cut]"}',
    );
    expect(split('{"v":"a\\\\\\"bcdef"}', 8, 1, { stringHeadBytes: 0 })[0].text).toBe(
      '{"v":"a\\\\[... 7 bytes cut]"}',
    );
  });

  it('marks a line that ends inside a string being shortened as truncated, then resets', () => {
    const opts = { stringHeadBytes: 4 };
    expect(split(`"${'x'.repeat(100)}\n{"a":"${'y'.repeat(100)}"}\n`, 10, 7, opts)).toEqual([
      { text: `"${'x'.repeat(9)}`, truncated: true, bytes: 101 },
      { text: '{"a":"yyyy[... 96 bytes cut]"}', truncated: false, shortened: true, bytes: 108 },
    ]);
  });

  it('gives up when shortened strings still leave too much past the cap', () => {
    const input = JSON.stringify({
      type: 'x',
      list: Array.from({ length: 50 }, () => 'z'.repeat(50)),
    });
    const [line] = split(input, 20, 64, { slackBytes: 100, stringHeadBytes: 4 });
    expect(line.truncated).toBe(true);
    expect(line.shortened).toBeUndefined();
    // Strings were shortened while the slack lasted.
    expect(line.text).toMatch(/^\{"type":"x","list":\["zzzz\[\.\.\. 46 bytes cut\]","zzzz\[/);
    expect(Buffer.byteLength(line.text)).toBeLessThanOrEqual(120);
    expect(line.bytes).toBe(input.length);
  });

  describe('memory bound on 50 MB of one line', () => {
    const MB50 = 50 * 1024 * 1024;
    const cap = 1024 * 1024;
    const feed = (s: NdjsonLineSplitter, head: string, fill: Buffer, tail: string) => {
      let peak = 0;
      const kept = () => (s as unknown as { kept: number }).kept;
      s.push(Buffer.from(head));
      for (let n = 0; n < MB50; n += fill.length) {
        expect(s.push(fill)).toEqual([]);
        peak = Math.max(peak, kept());
      }
      const lines = s.push(Buffer.from(`${tail}\n`));
      return { peak, lines };
    };

    it('shortens a 50 MB string to the cap: valid JSON, all bytes counted', () => {
      const s = new NdjsonLineSplitter(cap);
      const fill = Buffer.from('0123456789abcdé漢\\"'.repeat(3000));
      const head = '{"type":"assistant","message":{"content":[{"type":"text","text":"';
      const { peak, lines } = feed(s, head, fill, '"}]}}');
      expect(peak).toBeLessThanOrEqual(cap + 64);
      expect(lines).toHaveLength(1);
      const [line] = lines;
      expect(line.truncated).toBe(false);
      expect(line.shortened).toBe(true);
      const total = head.length + Math.ceil(MB50 / fill.length) * fill.length + 5;
      expect(line.bytes).toBe(total);
      const parsed = JSON.parse(line.text) as { message: { content: { text: string }[] } };
      const text = parsed.message.content[0].text;
      expect(text.startsWith('0123456789abcdé漢"')).toBe(true);
      const cut = Number(CUT.exec(text)?.[1]);
      expect(Buffer.byteLength(line.text) - CUT.exec(text)![0].length + cut).toBe(total);
    });

    it('gives up a 50 MB line of structure with bounded memory', () => {
      const s = new NdjsonLineSplitter(cap);
      const { peak, lines } = feed(s, '{"type":"x","n":[', Buffer.from('1,'.repeat(32768)), '1]}');
      expect(peak).toBeLessThanOrEqual(cap + 256 * 1024);
      expect(lines).toEqual([{ text: expect.any(String), truncated: true, bytes: 17 + MB50 + 3 }]);
      expect(lines[0].text.length).toBe(cap + 256 * 1024);
    });
  });
});
