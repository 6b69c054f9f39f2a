import { getMetadataStorage } from 'class-validator';
import type { ValidationMetadata } from 'class-validator/types/metadata/ValidationMetadata';
import { buildOpenApiDocument } from 'src/common/http/configure-app';
import { createTestApp, TestApp } from 'test/e2e/support/test-app';

type Schema = { type?: string; items?: Schema; properties?: Record<string, Schema> };
type Parameter = { name: string; in: string; schema?: Schema };

/** Every class property validated with `@IsInt()`, as `Class.property`, grouped by class. */
function integerProperties(): Map<string, Set<string>> {
  const storage = getMetadataStorage() as unknown as {
    validationMetadatas: Map<{ name: string }, ValidationMetadata[]>;
  };
  const byClass = new Map<string, Set<string>>();
  for (const [target, metadatas] of storage.validationMetadatas) {
    for (const metadata of metadatas) {
      if (metadata.name !== 'isInt') continue;
      const properties = byClass.get(target.name) ?? new Set<string>();
      byClass.set(target.name, properties.add(metadata.propertyName));
    }
  }
  return byClass;
}

/** The OpenAPI document says `integer` wherever the server takes integers only. */
describe('OpenAPI integers', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });

  afterAll(async () => {
    await t?.close();
  });

  it('declares every property validated with IsInt as an integer, in bodies and queries', () => {
    const doc = buildOpenApiDocument(t.app);
    const schemas = (doc.components?.schemas ?? {}) as Record<string, Schema>;
    const queryParameters: Parameter[] = Object.values(doc.paths).flatMap((item) =>
      Object.values(item as Record<string, { parameters?: Parameter[] }>).flatMap((op) =>
        (op.parameters ?? []).filter((p) => p.in === 'query'),
      ),
    );
    const found: string[] = [];
    for (const [className, properties] of integerProperties()) {
      // The environment's variables are checked by the same validator, but are no part of the API.
      if (className === 'AppConfig') continue;
      for (const property of properties) {
        // A body's class is a schema of its own; a query's (or a mapped type's) becomes parameters.
        const types =
          schemas[className] !== undefined
            ? [schemas[className].properties?.[property]?.type]
            : queryParameters.filter((p) => p.name === property).map((p) => p.schema?.type);
        const integer = types.length > 0 && types.every((type) => type === 'integer');
        found.push(
          `${className}.${property}: ${integer ? 'integer' : types.join(',') || 'absent'}`,
        );
      }
    }
    expect(found.length).toBeGreaterThan(10);
    expect(found.filter((f) => !f.endsWith(': integer'))).toEqual([]);
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
});
