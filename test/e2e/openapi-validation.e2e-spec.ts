import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getMetadataStorage } from 'class-validator';
import type { ValidationMetadata } from 'class-validator/types/metadata/ValidationMetadata';
import { ErrorCode } from 'src/common';
import { httpStatusOf } from 'src/common/errors/error-status';
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

  it("declares the tags the operations use, each with its line, and package.json's version", () => {
    const doc = buildOpenApiDocument(t.app);
    const used = new Set(
      Object.values(doc.paths).flatMap((item) =>
        Object.values(item as Record<string, { tags?: string[] }>).flatMap((op) => op.tags ?? []),
      ),
    );
    expect((doc.tags ?? []).map((tag) => tag.name).sort()).toEqual([...used].sort());
    expect((doc.tags ?? []).filter((tag) => !tag.description)).toEqual([]);
    const manifest = JSON.parse(
      readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8'),
    ) as { version: string };
    expect(doc.info.version).toBe(manifest.version);
  });

  it("names the shape of a validation_failed answer's details: errors, each a field and its messages", () => {
    const doc = buildOpenApiDocument(t.app);
    const schemas = (doc.components?.schemas ?? {}) as Record<string, Schema & object>;
    expect(schemas.ErrorResponseDto.properties?.details).toMatchObject({
      type: 'object',
      additionalProperties: true,
      properties: {
        errors: { type: 'array', items: { $ref: '#/components/schemas/FieldErrorsDto' } },
      },
    });
    expect(schemas.FieldErrorsDto).toMatchObject({
      properties: {
        field: { type: 'string' },
        errors: { type: 'array', items: { type: 'string' } },
      },
      required: ['field', 'errors'],
    });
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

type Operation = {
  operationId?: string;
  parameters?: Parameter[];
  responses: Record<string, { description?: string }>;
};

/** Every operation of the document, as `METHOD path`. */
function operationsOf(doc: ReturnType<typeof buildOpenApiDocument>): [string, Operation][] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item as Record<string, Operation>).map(([method, op]): [string, Operation] => [
      `${method.toUpperCase()} ${path}`,
      op,
    ]),
  );
}

/** The codes an error response's description lists (its `- \`code\`: meaning` lines). */
function codesOf(response: { description?: string } | undefined): string[] {
  return [...(response?.description ?? '').matchAll(/^- `([a-z_]+)`:/gm)].map((m) => m[1]);
}

/**
 * The operationIds, which name the generated SDK's methods (`<group>_<method>`: `tasks.status`):
 * explicit, so renaming a handler changes none of them.
 */
describe('OpenAPI operationIds', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });

  afterAll(async () => {
    await t?.close();
  });

  it('are the ones the SDK has always had', () => {
    const ids = Object.fromEntries(
      operationsOf(buildOpenApiDocument(t.app)).map(([operation, op]) => [
        operation,
        op.operationId,
      ]),
    );
    expect(ids).toEqual({
      'GET /api/v1/audit': 'audit_list',
      'POST /api/v1/api-keys': 'apiKeys_create',
      'GET /api/v1/api-keys': 'apiKeys_list',
      'DELETE /api/v1/api-keys/{id}': 'apiKeys_revoke',
      'POST /api/v1/sessions': 'sessions_create',
      'GET /api/v1/sessions': 'sessions_list',
      'GET /api/v1/sessions/{id}': 'sessions_findOne',
      'DELETE /api/v1/sessions/{id}': 'sessions_remove',
      'GET /api/v1/sessions/{id}/tasks': 'sessions_listTasks',
      'POST /api/v1/tasks': 'tasks_create',
      'GET /api/v1/tasks': 'tasks_list',
      'GET /api/v1/tasks/{id}': 'tasks_findOne',
      'DELETE /api/v1/tasks/{id}': 'tasks_remove',
      'GET /api/v1/tasks/{id}/interactions': 'tasks_interactions',
      'GET /api/v1/tasks/{id}/test-cases': 'tasks_testCases',
      'GET /api/v1/tasks/{id}/status': 'tasks_status',
      'GET /api/v1/tasks/{id}/verification': 'tasks_verification',
      'GET /api/v1/tasks/{id}/diff': 'tasks_diff',
      'POST /api/v1/tasks/{id}/merge': 'tasks_merge',
      'POST /api/v1/tasks/{id}/retry': 'tasks_retry',
      'POST /api/v1/tasks/{id}/cancel': 'tasks_cancel',
      'POST /api/v1/tasks/{id}/messages': 'messages_send',
      'GET /api/v1/stats': 'stats_get',
      'GET /api/v1/tasks/{id}/events': 'events_followTask',
      'GET /api/v1/events': 'events_followAll',
      'GET /health': 'health_check',
      'GET /health/live': 'health_live',
      'GET /health/ready': 'health_ready',
    });
  });
});

/** The event streams' 200 responses name each event's data schema; Last-Event-ID its form. */
describe('OpenAPI event streams', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });

  afterAll(async () => {
    await t?.close();
  });

  type Stream = {
    parameters: (Parameter & { schema?: Schema })[];
    responses: Record<
      string,
      { content: Record<string, { 'x-sse-events'?: Record<string, { $ref: string }> }> }
    >;
  };

  it('names the data schema of each event a stream sends (x-sse-events), with its enums', () => {
    const doc = buildOpenApiDocument(t.app);
    const streamOf = (path: string) => (doc.paths[path] as { get: Stream }).get;
    const eventsOf = (path: string) =>
      streamOf(path).responses['200'].content['text/event-stream']['x-sse-events'];
    const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
    expect(eventsOf('/api/v1/tasks/{id}/events')).toEqual({
      message: ref('InteractionResponseDto'),
      end: ref('TaskStreamEndDto'),
      closed: ref('StreamClosedDto'),
    });
    expect(eventsOf('/api/v1/events')).toEqual({
      message: ref('InteractionEventDto'),
      closed: ref('StreamClosedDto'),
    });
    const schemas = (doc.components?.schemas ?? {}) as Record<
      string,
      { required?: string[]; properties: Record<string, { enum?: unknown[]; nullable?: boolean }> }
    >;
    expect(schemas.TaskStreamEndDto.properties.status).toMatchObject({
      enum: ['COMPLETED', 'FAILED', 'CANCELLED'],
      nullable: true,
    });
    expect(schemas.TaskStreamEndDto.properties.status_reason.enum).toContain('verified');
    expect(schemas.StreamClosedDto.properties.code.enum).toEqual([
      'key_revoked',
      'key_expired',
      'key_required',
      'session_deleted',
    ]);
    expect(schemas.InteractionEventDto.required).toEqual(
      expect.arrayContaining(['task_id', 'id', 'kind', 'content']),
    );
    for (const path of ['/api/v1/tasks/{id}/events', '/api/v1/events']) {
      const header = streamOf(path).parameters.find((p) => p.name === 'Last-Event-ID');
      expect(header?.schema).toEqual({ type: 'string', pattern: '^\\d+$' });
    }
  });
});

/** Each route's error responses list the codes it sends, and every code is listed somewhere. */
describe('OpenAPI error responses', () => {
  let t: TestApp;
  let operations: Map<string, Operation>;

  beforeAll(async () => {
    t = await createTestApp();
    operations = new Map(operationsOf(buildOpenApiDocument(t.app)));
  });

  afterAll(async () => {
    await t?.close();
  });

  /** The codes `operation` lists under `status`. */
  const listed = (operation: string, status: number): string[] =>
    codesOf(operations.get(operation)?.responses[String(status)]);

  it("lists under each status the codes of the route's own service, and no other route's", () => {
    expect(listed('POST /api/v1/tasks/{id}/messages', 409)).toEqual([
      'task_finished',
      'messages_pending',
    ]);
    expect(listed('POST /api/v1/tasks/{id}/retry', 409)).toEqual([
      'task_not_retryable',
      'workspace_unavailable',
      'git_config_changed',
    ]);
    expect(listed('POST /api/v1/tasks/{id}/cancel', 409)).toEqual(['task_not_cancellable']);
    expect(listed('POST /api/v1/tasks', 409)).toEqual([
      'workspace_unavailable',
      'git_config_changed',
      'idempotency_request_in_progress',
    ]);
    expect(listed('POST /api/v1/tasks', 429)).toEqual(['rate_limited', 'queue_full']);
    expect(listed('POST /api/v1/tasks', 503)).toEqual(['database_unavailable', 'shutting_down']);
    expect(listed('GET /api/v1/tasks/{id}/events', 429)).toEqual([
      'rate_limited',
      'too_many_streams',
    ]);
    expect(listed('GET /api/v1/events', 404)).toEqual(['session_not_found', 'route_not_found']);
    // A read needs tasks:read, which every key has: its 403 is the Host check's alone.
    expect(listed('GET /api/v1/tasks/{id}', 403)).toEqual(['host_not_allowed']);
    expect(listed('DELETE /api/v1/api-keys/{id}', 404)).toEqual([
      'api_key_not_found',
      'route_not_found',
    ]);
    expect(operations.get('GET /api/v1/tasks')?.responses['409']).toBeUndefined();
  });

  it('says which 429 carries Retry-After: rate_limited, not queue_full nor too_many_streams', () => {
    const lines = (operation: string) =>
      (operations.get(operation)?.responses['429'].description ?? '').split('\n');
    const line = (operation: string, code: string) =>
      lines(operation).find((l) => l.startsWith(`- \`${code}\`:`)) ?? '';
    expect(line('POST /api/v1/tasks', 'rate_limited')).toMatch(/, with `Retry-After` in seconds$/);
    expect(line('POST /api/v1/tasks', 'queue_full')).toContain('no `Retry-After`');
    expect(line('POST /api/v1/tasks/{id}/retry', 'queue_full')).toContain('no `Retry-After`');
    expect(line('GET /api/v1/events', 'too_many_streams')).toContain('no `Retry-After`');
  });

  it('lists each code under its own status, and every code the server has on some route', () => {
    const misplaced: string[] = [];
    const documented = new Set<string>();
    for (const [operation, op] of operations) {
      for (const [status, response] of Object.entries(op.responses)) {
        for (const code of codesOf(response)) {
          documented.add(code);
          if (Number(httpStatusOf(code as ErrorCode)) !== Number(status)) {
            misplaced.push(`${operation} ${status}: ${code}`);
          }
        }
      }
    }
    expect(misplaced).toEqual([]);
    expect(Object.values(ErrorCode).filter((code) => !documented.has(code))).toEqual([]);
  });

  it("lists what any request can be refused for on every route, and a key's refusals where one is asked", () => {
    const shared: [number, string][] = [
      [400, 'bad_request'],
      [400, 'validation_failed'],
      [403, 'host_not_allowed'],
      [404, 'route_not_found'],
      [405, 'method_not_allowed'],
      [408, 'request_timeout'],
      [431, 'headers_too_large'],
      [500, 'internal_error'],
    ];
    const keyed: [number, string][] = [
      [401, 'unauthorized'],
      [429, 'rate_limited'],
      [507, 'storage_full'],
    ];
    const missing: string[] = [];
    for (const [operation] of operations) {
      const expected = operation === 'GET /health/live' ? shared : [...shared, ...keyed];
      for (const [status, code] of expected) {
        if (!listed(operation, status).includes(code))
          missing.push(`${operation} ${status} ${code}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('lists the Idempotency-Key refusals on every route that takes the header, and on no other', () => {
    const wrong: string[] = [];
    for (const [operation, op] of operations) {
      const idempotent = (op.parameters ?? []).some((p) => p.name === 'Idempotency-Key');
      const lists =
        listed(operation, 409).includes('idempotency_request_in_progress') &&
        listed(operation, 422).includes('idempotency_key_reused');
      if (idempotent !== lists) wrong.push(`${operation}: header ${idempotent}, codes ${lists}`);
    }
    expect(wrong).toEqual([]);
  });
});
