import { getMetadataStorage } from 'class-validator';
import type { ValidationMetadata } from 'class-validator/types/metadata/ValidationMetadata';
import { ErrorCode } from 'src/common';
import { buildOpenApiDocument } from 'src/common/http/configure-app';
import { createTestApp, TestApp } from 'test/e2e/support/test-app';

type Schema = {
  type?: string;
  items?: Schema;
  properties?: Record<string, Schema>;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
};
type Parameter = { name: string; in: string; schema?: Schema };

/**
 * Every use of the validator `name` on a class property of the API (the environment's variables,
 * checked by the same validator, are no part of it), as `[class, property, constraints]`.
 */
function validated(name: string): [string, string, unknown[]][] {
  const storage = getMetadataStorage() as unknown as {
    validationMetadatas: Map<{ name: string }, ValidationMetadata[]>;
  };
  const found: [string, string, unknown[]][] = [];
  for (const [target, metadatas] of storage.validationMetadatas) {
    if (target.name === 'AppConfig') continue;
    for (const metadata of metadatas) {
      if (metadata.name === name)
        found.push([target.name, metadata.propertyName, metadata.constraints ?? []]);
    }
  }
  return found;
}

/** The schemas of `property` of `className`: its body schema's, or its query parameters'. */
function schemasOf(
  doc: ReturnType<typeof buildOpenApiDocument>,
  className: string,
  property: string,
): (Schema | undefined)[] {
  const schemas = (doc.components?.schemas ?? {}) as Record<string, Schema>;
  // A body's class is a schema of its own; a query's (or a mapped type's) becomes parameters.
  if (schemas[className] !== undefined) return [schemas[className].properties?.[property]];
  return Object.values(doc.paths).flatMap((item) =>
    Object.values(item as Record<string, { parameters?: Parameter[] }>).flatMap((op) =>
      (op.parameters ?? [])
        .filter((p) => p.in === 'query' && p.name === property)
        .map((p) => p.schema),
    ),
  );
}

/** The OpenAPI document says what the server's validation takes: integers, lengths, sizes. */
describe('OpenAPI validation', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });

  afterAll(async () => {
    await t?.close();
  });

  it('declares every property validated with IsInt as an integer, in bodies and queries', () => {
    const doc = buildOpenApiDocument(t.app);
    const found: string[] = [];
    for (const [className, property] of validated('isInt')) {
      const types = schemasOf(doc, className, property).map((schema) => schema?.type);
      const integer = types.length > 0 && types.every((type) => type === 'integer');
      found.push(`${className}.${property}: ${integer ? 'integer' : types.join(',') || 'absent'}`);
    }
    expect(found.length).toBeGreaterThan(10);
    expect(found.filter((f) => !f.endsWith(': integer'))).toEqual([]);
  });

  it('declares the lengths, sizes and "not blank" the server checks, in bodies and queries', () => {
    const doc = buildOpenApiDocument(t.app);
    // Of the patterns, only "not blank" (`\S`): an OpenAPI property has one pattern, and the
    // others (no NUL character, a git ref's) are said in words.
    const notBlank = validated('matches').filter(([, , [p]]) => (p as RegExp).source === '\\S');
    const keywords: [[string, string, unknown[]][], keyof Schema, (c: unknown) => unknown][] = [
      [validated('minLength'), 'minLength', (n) => n],
      [validated('maxLength'), 'maxLength', (n) => n],
      [validated('arrayMinSize'), 'minItems', (n) => n],
      [validated('arrayMaxSize'), 'maxItems', (n) => n],
      [notBlank, 'pattern', (pattern) => (pattern as RegExp).source],
    ];
    const undeclared: string[] = [];
    let checked = 0;
    for (const [uses, keyword, expected] of keywords) {
      for (const [className, property, constraints] of uses) {
        checked += 1;
        const want = expected(constraints[0]);
        const declared = schemasOf(doc, className, property).map((schema) => schema?.[keyword]);
        if (declared.length === 0 || declared.some((d) => d !== want))
          undeclared.push(
            `${className}.${property}: ${keyword} ${String(want)}, declared ${JSON.stringify(declared)}`,
          );
      }
    }
    expect(checked).toBeGreaterThan(10);
    expect(undeclared).toEqual([]);
  });

  it('requires a request body exactly where its schema has a required field (an absent one is {})', () => {
    const doc = buildOpenApiDocument(t.app);
    const schemas = (doc.components?.schemas ?? {}) as Record<string, { required?: string[] }>;
    type Body = { required?: boolean; content: Record<string, { schema: { $ref?: string } }> };
    const wrong: string[] = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item as Record<string, { requestBody?: Body }>)) {
        const body = op.requestBody;
        if (body === undefined) continue;
        const ref = body.content['application/json']?.schema.$ref ?? '';
        const fields = schemas[ref.replace('#/components/schemas/', '')]?.required ?? [];
        if ((body.required ?? false) !== fields.length > 0)
          wrong.push(`${method.toUpperCase()} ${path}: required ${String(body.required)}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('declares counts, ids, iterations, tokens and durations in answers as integers', () => {
    const doc = buildOpenApiDocument(t.app);
    const counted =
      /^(total|limit|offset|count|id|iteration|attempt|next_after_id|.*_total|.*_tokens|.*_ms|.*_seconds|.*_bytes|max_iterations|max_pauses|pause_count)$/;
    const numbers: string[] = [];
    for (const [name, schema] of Object.entries(
      (doc.components?.schemas ?? {}) as Record<string, Schema>,
    )) {
      for (const [property, field] of Object.entries(schema.properties ?? {})) {
        if (counted.test(property) && field.type === 'number') numbers.push(`${name}.${property}`);
      }
    }
    expect(numbers).toEqual([]);
  });

  it("documents the error body's code as the ErrorCode enum, every code the server has", () => {
    const doc = buildOpenApiDocument(t.app);
    const schemas = (doc.components?.schemas ?? {}) as Record<
      string,
      Schema & { enum?: string[]; allOf?: { $ref: string }[] }
    >;
    expect(schemas.ErrorResponseDto.properties?.code).toMatchObject({
      allOf: [{ $ref: '#/components/schemas/ErrorCode' }],
    });
    expect(schemas.ErrorCode).toMatchObject({ type: 'string' });
    expect(schemas.ErrorCode.enum).toEqual(Object.values(ErrorCode));
  });
});
