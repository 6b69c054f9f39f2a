import { JsonTooDeepError, MAX_JSON_DEPTH, scanJsonBody } from 'src/common/http/json-body-shape';

const scan = (text: string): string | null => scanJsonBody(Buffer.from(text, 'utf8'));

describe('scanJsonBody', () => {
  it.each([
    ['{"description":"a","description":"b"}', 'description'],
    ['{"a":1,"b":{"c":[1,{"d":1,"d":2}]}}', 'd'],
    ['{"a":[1,2],"b":{"x":1},"a":3}', 'a'],
    ['{"a":1,"\\u0061":2}', 'a'],
    ['{"é":1,"\\u00e9":2}', 'é'],
    ['{"a\\"b":1,"a\\"b":2}', 'a"b'],
    ['{"":1,"":2}', ''],
    ['{"first":{"x":1,"x":2},"second":{"y":1,"y":2}}', 'x'],
  ])('names the first property repeated in one object: %s', (body, name) => {
    expect(scan(body)).toBe(name);
    expect(() => void JSON.parse(body)).not.toThrow();
  });

  it.each([
    '{"a":1,"b":2}',
    '{"a":{"a":{"a":1}}}',
    '{"a":"a","b":"a"}',
    '{"a":[{"x":1},{"x":2}]}',
    '{"a":"{\\"a\\":1,\\"a\\":2}"}',
    '{"a\\\\":1,"a":2}',
    '{"tests":["a","a","a"]}',
    '{}',
    '[]',
    '"a"',
  ])('finds none where no object repeats a name: %s', (body) => {
    expect(() => void JSON.parse(body)).not.toThrow();
    expect(scan(body)).toBeNull();
  });

  it('refuses a body nested deeper than MAX_JSON_DEPTH, and takes one nested exactly as deep', () => {
    const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
    expect(scan(nested(MAX_JSON_DEPTH))).toBeNull();
    expect(() => scan(nested(MAX_JSON_DEPTH + 1))).toThrow(JsonTooDeepError);
    expect(() =>
      scan(`{"a":${'{"b":'.repeat(MAX_JSON_DEPTH)}1${'}'.repeat(MAX_JSON_DEPTH)}}`),
    ).toThrow(JsonTooDeepError);
  });

  it('does not count brackets inside strings', () => {
    const text = `{"a":"${'['.repeat(MAX_JSON_DEPTH * 2)}\\"{{{"}`;
    expect(() => void JSON.parse(text)).not.toThrow();
    expect(scan(text)).toBeNull();
  });
});
