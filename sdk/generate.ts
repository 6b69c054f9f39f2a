/**
 * Generates the API client SDK from the server's own OpenAPI document: `npm run sdk` boots the
 * AppModule (API only, on a throwaway SQLite file), builds the document exactly as `/docs-json`
 * serves it, and writes `sdk/openapi.json` and `sdk/client.ts`. `test/e2e/sdk.e2e-spec.ts` fails
 * when either file is out of date, and drives a live server through the generated client.
 *
 * The client has no dependencies (the global `fetch` of Node 18+ and browsers): one method per
 * operation, grouped by tag (`client.tasks.status(id)`), path parameters first, then the JSON
 * body (optional where the operation does not require one), then the query; errors throw
 * `ApiError` with the server's `{ code, message, ... }` body. Operations that take an
 * `Idempotency-Key` send one on every call (a new UUID unless the caller gives one) and retry,
 * with the same key, when the network fails, the server answers 503 or the first try is still in
 * progress: a retry never creates a duplicate. An operation that can also answer text (a raw
 * patch) returns the text as a string. An event stream is an async iterable of the events its
 * 200 response's `x-sse-events` names, typed by their data schemas.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OpenAPIObject } from '@nestjs/swagger';
import * as estree from 'prettier/plugins/estree';
import * as typescript from 'prettier/plugins/typescript';
import { format } from 'prettier/standalone';

type Schema = {
  $ref?: string;
  type?: string;
  enum?: unknown[];
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  nullable?: boolean;
  allOf?: Schema[];
  additionalProperties?: boolean | Schema;
  description?: string;
};

type Parameter = { name: string; in: string; required?: boolean; schema?: Schema };

/** A media type's content; an event stream's also names each event's data schema. */
type MediaType = { schema?: Schema; 'x-sse-events'?: Record<string, Schema> };

type Operation = {
  operationId?: string;
  summary?: string;
  tags?: string[];
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: Schema }> };
  responses: Record<string, { content?: Record<string, MediaType> }>;
};

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

/** The TypeScript type of a schema. */
function typeOf(schema: Schema | undefined): string {
  if (!schema) return 'unknown';
  const base = baseTypeOf(schema);
  return schema.nullable ? `${base} | null` : base;
}

function baseTypeOf(schema: Schema): string {
  if (schema.$ref) return schema.$ref.split('/').pop()!;
  if (schema.allOf?.length === 1) return typeOf(schema.allOf[0]);
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(' | ');
  const type = schema.type ?? '';
  if (type === 'string' || type === 'boolean') return type;
  if (type === 'integer' || type === 'number') return 'number';
  if (type === 'array') return `Array<${typeOf(schema.items)}>`;
  if (type === 'object') {
    if (schema.properties) return objectType(schema, '');
    // A map: its values' schema when it gives one (`additionalProperties: true` gives none).
    const values = schema.additionalProperties;
    return `Record<string, ${typeof values === 'object' ? typeOf(values) : 'unknown'}>`;
  }
  return 'unknown';
}

function objectType(schema: Schema, indent: string): string {
  const required = new Set(schema.required ?? []);
  const lines = Object.entries(schema.properties ?? {}).map(([name, prop]) => {
    const doc = prop.description
      ? `${indent}  /** ${prop.description.replace(/\*\//g, '*\\/')} */\n`
      : '';
    return `${doc}${indent}  ${name}${required.has(name) ? '' : '?'}: ${typeOf(prop)};`;
  });
  // Named properties and more (an error's `details`): the others are unknown, whatever the named
  // ones' types (an index signature's type must take them all).
  if (schema.additionalProperties) lines.push(`${indent}  [key: string]: unknown;`);
  return `{\n${lines.join('\n')}\n${indent}}`;
}

/**
 * A named schema as a declaration: an object as an interface, anything else (a named enum such as
 * `ErrorCode`) as a type alias, so `enum: [...]` becomes the union of its values.
 */
function schemaDeclaration(name: string, schema: Schema): string {
  if (schema.type === 'object' || schema.properties) {
    return `export interface ${name} ${objectType(schema, '')}`;
  }
  const doc = schema.description ? `/** ${schema.description.replace(/\*\//g, '*\\/')} */\n` : '';
  return `${doc}export type ${name} = ${typeOf(schema)};`;
}

/**
 * The events a stream operation yields, from its `x-sse-events` (event name to data schema):
 * `closed` aside, which the client throws as `StreamClosedError`. A `message` (the SSE default
 * event: an interaction) carries its id, which a reconnect resumes from; the server sends the
 * others without one.
 */
function streamEventType(events: Record<string, Schema>): string {
  return Object.entries(events)
    .filter(([event]) => event !== 'closed')
    .map(
      ([event, schema]) =>
        `{ event: ${JSON.stringify(event)}; id: ${event === 'message' ? 'string' : 'string | null'}; data: ${typeOf(schema)} }`,
    )
    .join(' | ');
}

/**
 * An operation's method name in its group (`group`, its tag's): its operationId is
 * `<group>_<name>`, given explicitly (`@ApiOperation({ operationId })`), so renaming a handler
 * renames no SDK method. Nest's default (`<Controller>_<handler>`), or none, is refused.
 */
function methodName(op: Operation, group: string, where: string): string {
  const match = /^([A-Za-z]+)_([A-Za-z]\w*)$/.exec(op.operationId ?? '');
  if (match === null || match[1] !== group) {
    throw new Error(
      `${where}: operationId ${JSON.stringify(op.operationId)} is not ${group}_<method>: give it one (@ApiOperation({ operationId }))`,
    );
  }
  return match[2];
}

function camel(name: string): string {
  return name.replace(/[-_]([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/** The error class and helpers every generated client starts with (formatted by Prettier later). */
const ERROR_AND_QUERY_TYPES = `
/**
 * A response outside 2xx. \`body\` is the server's error body (\`{ code, message, ... }\`) when it
 * sent one; \`payload\` is whatever JSON came (e.g. the health report of a 503), else undefined.
 */
export class ApiError extends Error {
  readonly body: ErrorResponseDto | null;
  /**
   * Seconds to wait before trying again, where the answer says: \`Retry-After\` of a 429
   * \`rate_limited\` (\`queue_full\` and \`too_many_streams\` give none) or of a 503.
   */
  readonly retryAfterSeconds: number | null;
  constructor(readonly status: number, readonly payload: unknown, headers?: Headers) {
    const body = isErrorBody(payload) ? payload : null;
    super(body ? \`\${status} \${body.code}: \${body.message}\` : \`HTTP \${status}\`);
    this.name = 'ApiError';
    this.body = body;
    const retryAfter = Number(headers?.get('retry-after') ?? NaN);
    this.retryAfterSeconds = Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter : null;
  }
}

function isErrorBody(value: unknown): value is ErrorResponseDto {
  return typeof value === 'object' && value !== null && typeof (value as { code?: unknown }).code === 'string';
}

/** JSON, or undefined for an empty or non-JSON body (a proxy's error page). */
function parseOrUndefined(text: string): unknown {
  try {
    return text === '' ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

type Query = Record<string, string | number | boolean | undefined>;

/** Options of a creating call. */
export interface IdempotentCallOptions {
  /** The call's Idempotency-Key; a new one (a UUID) when not given. Reuse it to retry by hand. */
  idempotencyKey?: string;
}

/** Waits between the tries of an idempotent call. */
const RETRY_WAITS_MS = [500, 1000, 2000];

/** Waits \`ms\`, or less: an abort of \`signal\` ends the wait at once (the caller then sees it). */
const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

/** Longest wait a 503's \`Retry-After\` makes a followed stream take before its next try. */
const MAX_RETRY_AFTER_SECONDS = 60;

/** Options of a followed event stream. */
export interface StreamOptions {
  /** Ends the stream (and its connection) when aborted. */
  signal?: AbortSignal;
  /** Start after this event id (what a previous stream last received). */
  lastEventId?: string;
  /**
   * How many tries in a row to reconnect may fail (no connection, a 503, a connection that brings
   * nothing) before the stream gives up with \`StreamClosedError\` \`reconnect_failed\`; default 10
   * (about 40 s of waiting). Any data received starts the count again.
   */
  maxReconnects?: number;
}

/** Reconnect tries in a row that may fail when \`StreamOptions.maxReconnects\` is not given. */
const DEFAULT_MAX_RECONNECTS = 10;

/**
 * The wait before reconnecting: 0.25 s after a connection that brought data, then 0.5 s after
 * the first failed try, doubling with each failed try in a row, at most 5 s.
 */
const reconnectWaitMs = (failures: number): number => Math.min(250 * 2 ** failures, 5000);

/**
 * A followed event stream that cannot go on. \`code\` says why: what the server's \`closed\` event
 * said (\`key_revoked\`, \`key_expired\`: reconnecting with this key would be refused;
 * \`session_deleted\`: the session of an \`/events?session_id=\` stream is gone), or
 * \`reconnect_failed\` once \`maxReconnects\` tries in a row to reconnect failed (\`lastError\`:
 * the last failure, a network error or an \`ApiError\` 503).
 */
export class StreamClosedError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly lastError: unknown = null,
  ) {
    super(message);
    this.name = 'StreamClosedError';
  }
}

/**
 * One SSE frame: the last event id it sets (null for none) and its event (null for a comment or a
 * frame without data). A frame without data may set the id all the same: where a stream starts.
 */
function parseFrame(block: string): {
  id: string | null;
  event: TaskStreamEvent | ClosedFrame | null;
} {
  let id: string | null = null;
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split('\\n')) {
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'id') id = value;
    else if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length === 0) return { id, event: null };
  const parsed = { id, event, data: JSON.parse(data.join('\\n')) };
  return { id, event: parsed as TaskStreamEvent | ClosedFrame };
}

/** True for an answer an idempotent call tries again: 503, or its first try still running. */
function worthRetrying(error: unknown): boolean {
  if (!(error instanceof ApiError)) return true;
  return error.status === 503 || error.body?.code === 'idempotency_request_in_progress';
}
`;

/** The one method every generated operation goes through. */
const CALL_METHOD = `
  /** An idempotent call: sent with its key, and tried again (same key) while that is safe. */
  private async idempotent<T>(
    method: string,
    path: string,
    body: unknown,
    options: IdempotentCallOptions,
  ): Promise<T> {
    const key = options.idempotencyKey ?? globalThis.crypto.randomUUID();
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await this.call<T>(method, path, body, undefined, key);
      } catch (error) {
        if (attempt >= RETRY_WAITS_MS.length || !worthRetrying(error)) throw error;
        await sleep(RETRY_WAITS_MS[attempt]);
      }
    }
  }

  /**
   * Follows an event stream: yields each event as it comes; when the connection drops (a network
   * error, a server restart) it reconnects with \`Last-Event-ID\` (the last id received), so no
   * event is missed or repeated, waiting longer after each failed try (a 503's \`Retry-After\`
   * where it gives one). Ends after an \`end\` event, when the loop breaks, or when
   * \`options.signal\` aborts; an error answer (4xx) throws \`ApiError\`; a \`closed\` event (the
   * key was revoked or expired) or more than \`options.maxReconnects\` failed tries in a row throw
   * \`StreamClosedError\`.
   */
  private async *stream<E extends TaskStreamEvent>(
    path: string,
    query: Query | undefined,
    options: StreamOptions,
  ): AsyncGenerator<E> {
    let lastId = options.lastEventId ?? null;
    const maxReconnects = options.maxReconnects ?? DEFAULT_MAX_RECONNECTS;
    let failures = 0;
    const base = this.baseUrl.endsWith('/') ? this.baseUrl : \`\${this.baseUrl}/\`;
    const url = new URL(path.slice(1), base);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    for (;;) {
      const headers: Record<string, string> = { accept: 'text/event-stream' };
      if (lastId !== null) headers['last-event-id'] = lastId;
      if (this.apiKey !== undefined) headers.authorization = \`Bearer \${this.apiKey}\`;
      let res: Response | null = null;
      let received = false;
      let lastError: unknown = null;
      let retryAfterSeconds: number | null = null;
      try {
        res = await this.fetchImpl(url, { headers, signal: options.signal });
      } catch (error) {
        if (options.signal?.aborted) throw error;
        lastError = error;
      }
      if (res !== null && !res.ok) {
        const error = new ApiError(res.status, parseOrUndefined(await res.text()), res.headers);
        if (res.status !== 503) throw error;
        lastError = error;
        retryAfterSeconds = error.retryAfterSeconds;
      }
      if (res?.ok && res.body) {
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        try {
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buffer += value.replace(/\\r\\n?/g, '\\n');
            let cut: number;
            while ((cut = buffer.indexOf('\\n\\n')) >= 0) {
              const frame = buffer.slice(0, cut);
              const { id, event } = parseFrame(frame);
              buffer = buffer.slice(cut + 2);
              // An event or a keep-alive shows a live stream; the \`retry:\` a server sends first does not.
              if (event !== null || frame.startsWith(':')) received = true;
              // The first frame's id too: a reconnect before any event goes on from where it began.
              if (id !== null) lastId = id;
              if (event === null) continue;
              if (event.event === 'closed') {
                throw new StreamClosedError(event.data.code, event.data.message);
              }
              // The route's own events: what its document's \`x-sse-events\` names.
              yield event as E;
              if (event.event === 'end') return;
            }
          }
        } catch (error) {
          if (options.signal?.aborted || error instanceof StreamClosedError) throw error;
          lastError = error;
        } finally {
          await reader.cancel().catch(() => undefined);
        }
      }
      failures = received ? 0 : failures + 1;
      if (failures > maxReconnects) {
        // Not \`instanceof Error\`: fetch's errors may come from another realm.
        const why = (lastError as { message?: unknown } | null)?.message;
        throw new StreamClosedError(
          'reconnect_failed',
          \`The event stream could not be reconnected: \${failures} tries in a row failed (last: \${typeof why === 'string' ? why : 'the connection brought nothing'})\`,
          lastError,
        );
      }
      await sleep(
        retryAfterSeconds !== null
          ? Math.min(retryAfterSeconds, MAX_RETRY_AFTER_SECONDS) * 1000
          : reconnectWaitMs(failures),
        options.signal,
      );
    }
  }

  private async call<T>(
    method: string,
    path: string,
    body?: unknown,
    query?: Query,
    idempotencyKey?: string,
  ): Promise<T> {
    const base = this.baseUrl.endsWith('/') ? this.baseUrl : \`\${this.baseUrl}/\`;
    const url = new URL(path.slice(1), base);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (idempotencyKey !== undefined) headers['idempotency-key'] = idempotencyKey;
    if (this.apiKey !== undefined) headers.authorization = \`Bearer \${this.apiKey}\`;
    const res = await this.fetchImpl(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new ApiError(res.status, parseOrUndefined(text), res.headers);
    if (text === '') return undefined as T;
    const json = (res.headers.get('content-type') ?? '').includes('json');
    return (json ? JSON.parse(text) : text) as T;
  }
}
`;

/** `sdk/client.ts` for `doc`. */
export function renderClient(doc: OpenAPIObject): string {
  const out: string[] = [
    "// Generated by `npm run sdk` from the server's OpenAPI document. Do not edit by hand.",
    '',
  ];
  const schemas = (doc.components?.schemas ?? {}) as Record<string, Schema>;
  for (const [name, schema] of Object.entries(schemas)) {
    out.push(schemaDeclaration(name, schema), '');
  }

  const groups = new Map<string, string[]>();
  /** The method names each group has so far: two operations of one group may not share one. */
  const names = new Map<string, Map<string, string>>();
  /** Each stream operation's event type, and the data types of the streams' `closed` events. */
  const streamTypes: string[] = [];
  const eventTypes: string[] = [];
  const closedTypes = new Set<string>();
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = (item as Record<string, Operation | undefined>)[method];
      if (!op) continue;
      const tag = op.tags?.[0] ?? 'default';
      const where = `${method.toUpperCase()} ${path}`;
      const name = methodName(op, camel(tag), where);
      const named = names.get(tag) ?? new Map<string, string>();
      const other = named.get(name);
      if (other !== undefined) {
        throw new Error(`${where}: ${camel(tag)}.${name} is the method of ${other} already`);
      }
      names.set(tag, named.set(name, where));
      const pathParams = (op.parameters ?? []).filter((p) => p.in === 'path');
      const queryParams = (op.parameters ?? []).filter((p) => p.in === 'query');
      const body = op.requestBody?.content?.['application/json']?.schema;
      const idempotent = (op.parameters ?? []).some(
        (p) => p.in === 'header' && p.name.toLowerCase() === 'idempotency-key',
      );
      const success = Object.keys(op.responses).find((s) => s.startsWith('2')) ?? '200';
      const content = op.responses[success]?.content ?? {};
      const json = content['application/json']?.schema;
      const events = content['text/event-stream']?.['x-sse-events'];
      const stream = content['text/event-stream'] !== undefined;
      const text = !stream && Object.keys(content).some((type) => type.startsWith('text/'));
      const returns = [json ? typeOf(json) : null, text ? 'string' : null].filter(
        (t) => t !== null,
      );
      const args = pathParams.map((p) => `${camel(p.name)}: ${typeOf(p.schema)}`);
      // A body the operation does not require may be left out: none is sent then.
      if (body) args.push(`body${op.requestBody?.required ? '' : '?'}: ${typeOf(body)}`);
      if (queryParams.length > 0) {
        const fields = queryParams.map(
          (p) => `${p.name}${p.required ? '' : '?'}: ${typeOf(p.schema)}`,
        );
        args.push(`query: { ${fields.join('; ')} } = {}`);
      }
      if (idempotent) args.push('options: IdempotentCallOptions = {}');
      if (stream) args.push('options: StreamOptions = {}');
      const url = path.replace(
        /\{(\w+)\}/g,
        (_m, p: string) => `\${encodeURIComponent(${camel(p)})}`,
      );
      const call = idempotent
        ? `this.idempotent('${method.toUpperCase()}', \`${url}\`, ${body ? 'body' : 'undefined'}, options)`
        : `this.call('${method.toUpperCase()}', \`${url}\`, ${body ? 'body' : 'undefined'}, ${queryParams.length > 0 ? 'query' : 'undefined'})`;
      const summary = `    /** ${(op.summary ?? `${method.toUpperCase()} ${path}`).replace(/\*\//g, '*\\/')} (${method.toUpperCase()} ${path}) */`;
      const eventType = `${name[0].toUpperCase()}${name.slice(1)}Event`;
      if (stream) {
        if (events?.closed === undefined) {
          throw new Error(
            `${where}: an event stream names its events' data schemas in x-sse-events, closed among them`,
          );
        }
        streamTypes.push(
          `/** What \`${camel(tag)}.${name}\` yields (${method.toUpperCase()} ${path}). */`,
          `export type ${eventType} = ${streamEventType(events)};`,
          '',
        );
        eventTypes.push(eventType);
        closedTypes.add(typeOf(events.closed));
      }
      const lines = stream
        ? [
            summary,
            `    ${name}: (${args.join(', ')}): AsyncGenerator<${eventType}> =>`,
            `      this.stream<${eventType}>(\`${url}\`, ${queryParams.length > 0 ? 'query' : 'undefined'}, options),`,
          ]
        : [
            summary,
            `    ${name}: (${args.join(', ')}): Promise<${returns.length > 0 ? returns.join(' | ') : 'void'}> =>`,
            `      ${call},`,
          ];
      groups.set(tag, [...(groups.get(tag) ?? []), ...lines]);
    }
  }

  out.push(
    ...streamTypes,
    '/** One event of a live event stream: what any of the streams yields. */',
    `export type TaskStreamEvent = ${eventTypes.join(' | ') || 'never'};`,
    '',
    '/** The last frame of a stream the server closed for good: why, e.g. `key_revoked`. */',
    `type ClosedFrame = { event: 'closed'; id: string | null; data: ${[...closedTypes].join(' | ') || 'never'} };`,
    ERROR_AND_QUERY_TYPES,
    '/** A client for the Claude Task Automation Server API. */',
    'export class ApiClient {',
    '  constructor(',
    "    /** The server's base URL, e.g. `http://localhost:8000`. */",
    '    readonly baseUrl: string,',
    '    private readonly fetchImpl: typeof fetch = fetch,',
    '    /** An API key, sent as `Authorization: Bearer <key>` (needed once the server requires keys). */',
    '    private readonly apiKey?: string,',
    '  ) {}',
    '',
  );
  for (const [tag, lines] of groups) {
    out.push(`  readonly ${camel(tag)} = {`, ...lines, '  };', '');
  }
  out.push(CALL_METHOD, '');
  return out.join('\n');
}

/** `sdk/openapi.json` for `doc`. */
export function renderOpenApi(doc: OpenAPIObject): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

export const CLIENT_FILE = join(__dirname, 'client.ts');
export const OPENAPI_FILE = join(__dirname, 'openapi.json');

/**
 * Both files' contents, the client formatted with the project's Prettier settings (`.prettierrc`;
 * Prettier's standalone build, which needs no dynamic imports, so Jest can run it too).
 */
export async function renderSdk(doc: OpenAPIObject): Promise<{ client: string; openapi: string }> {
  const options = JSON.parse(readFileSync(join(__dirname, '..', '.prettierrc'), 'utf8')) as Record<
    string,
    unknown
  >;
  const client = await format(renderClient(doc), {
    ...options,
    parser: 'typescript',
    plugins: [estree, typescript],
  });
  return { client, openapi: renderOpenApi(doc) };
}

/** Boots the API on a database in `work` and writes the document and the client. */
async function generateIn(work: string): Promise<void> {
  process.env.DATABASE_URL = `sqlite:///${join(work, 'sdk.db')}`;
  process.env.ORCHESTRATOR_ENABLED = 'false';
  process.env.WORKSPACES_DIR = join(work, 'workspaces');
  const { NestFactory } = await import('@nestjs/core');
  const { AppModule } = await import('src/app.module');
  const { buildOpenApiDocument, NEST_APP_OPTIONS } = await import('src/common/http/configure-app');
  // A failure is thrown, not Nest's exit: the caller's clean-up runs.
  const app = await NestFactory.create(AppModule, {
    ...NEST_APP_OPTIONS,
    logger: ['error'],
    abortOnError: false,
  });
  try {
    await app.init();
    const { client, openapi } = await renderSdk(buildOpenApiDocument(app));
    writeFileSync(OPENAPI_FILE, openapi);
    writeFileSync(CLIENT_FILE, client);
  } finally {
    await app.close();
  }
}

/** The scratch directory goes however the generation ends (a configuration refused included). */
async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'cta-sdk-'));
  try {
    await generateIn(work);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(
      `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  });
}
