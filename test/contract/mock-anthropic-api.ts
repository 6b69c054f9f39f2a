import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

/**
 * A scripted stand-in for the Anthropic Messages API, for running the real Claude Code CLI
 * offline. `POST /v1/messages` answers the conversation's requests (those that carry tools) from a
 * queue of scripted replies, streamed as SSE like the real API; any other messages request (title,
 * summary or topic calls without tools) gets a short plain text reply. `GET /api/hello` and
 * everything else answer 404. Every request is recorded. `CWD` in a scripted tool input becomes
 * the working directory of the conversation asking.
 */

export interface Usage {
  input_tokens: number;
  output_tokens: number;
}

export type ScriptedReply =
  | { kind: 'text'; text: string; usage?: Usage }
  | { kind: 'tool_use'; name: string; input: Record<string, unknown>; text?: string; usage?: Usage }
  | { kind: 'error'; status: number; errorType: string; message: string };

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown> | null;
  /** True for a request of the agent's conversation (it carries tools). */
  main: boolean;
  /** The scripted reply it got, when it was a main request. */
  reply: ScriptedReply | null;
}

const DEFAULT_USAGE: Usage = { input_tokens: 10, output_tokens: 5 };

/**
 * Stands, in a scripted tool input, for the working directory of the conversation that asks (as
 * the CLI names it in its system prompt): for paths in a task's workspace, unknown when scripted.
 */
export const CWD = '{{cwd}}';

/** The working directory the CLI names in a request's system prompt ("Primary working directory: ..."), or null. */
function workingDirectory(body: Record<string, unknown> | null): string | null {
  const match = /[Ww]orking directory: ([^\n"\\]+)/.exec(JSON.stringify(body?.system ?? ''));
  return match ? match[1].trim() : null;
}

/** `value` with every `CWD` in its strings replaced by `cwd`. */
function withCwd<T>(value: T, cwd: string): T {
  if (typeof value === 'string') return value.split(CWD).join(cwd) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => withCwd(item, cwd)) as T;
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, withCwd(item, cwd)]),
    ) as T;
  }
  return value;
}

export class MockAnthropicApi {
  readonly requests: RecordedRequest[] = [];
  private readonly replies: ScriptedReply[] = [];
  private server: Server | null = null;
  private counter = 0;

  /** Starts listening on 127.0.0.1 on a random port; returns the base URL. */
  async start(): Promise<string> {
    const server = createServer((req, res) => this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Replies for the next main requests, in order; when empty a main request gets "DONE". */
  script(...replies: ScriptedReply[]): void {
    this.replies.push(...replies);
  }

  /** Clears the queue and the recorded requests. */
  reset(): void {
    this.replies.length = 0;
    this.requests.length = 0;
  }

  mainRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.main);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: Record<string, unknown> | null = null;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        body = null;
      }
      const url = req.url ?? '';
      const isMessages = req.method === 'POST' && url.split('?')[0] === '/v1/messages';
      const main = isMessages && Array.isArray(body?.tools) && body.tools.length > 0;
      const scripted = main ? (this.replies.shift() ?? { kind: 'text', text: 'DONE' }) : null;
      const cwd = workingDirectory(body);
      const reply = scripted !== null && cwd !== null ? withCwd(scripted, cwd) : scripted;
      this.requests.push({
        method: req.method ?? '',
        url,
        headers: req.headers,
        body,
        main,
        reply,
      });
      if (!isMessages) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            type: 'error',
            error: { type: 'not_found_error', message: 'not found' },
          }),
        );
        return;
      }
      const model = typeof body?.model === 'string' ? body.model : 'claude-mock';
      const answer: ScriptedReply = reply ?? { kind: 'text', text: 'Mock title' };
      if (answer.kind === 'error') {
        res.writeHead(answer.status, { 'content-type': 'application/json', 'retry-after': '0' });
        res.end(
          JSON.stringify({
            type: 'error',
            error: { type: answer.errorType, message: answer.message },
          }),
        );
        return;
      }
      if (body?.stream === true) this.stream(res, model, answer);
      else this.json(res, model, answer);
    });
  }

  private blocks(reply: Exclude<ScriptedReply, { kind: 'error' }>): Record<string, unknown>[] {
    if (reply.kind === 'text') return [{ type: 'text', text: reply.text }];
    const blocks: Record<string, unknown>[] = [];
    if (reply.text) blocks.push({ type: 'text', text: reply.text });
    blocks.push({
      type: 'tool_use',
      id: `toolu_mock_${++this.counter}`,
      name: reply.name,
      input: reply.input,
    });
    return blocks;
  }

  private json(
    res: ServerResponse,
    model: string,
    reply: Exclude<ScriptedReply, { kind: 'error' }>,
  ): void {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        id: `msg_mock_${++this.counter}`,
        type: 'message',
        role: 'assistant',
        model,
        content: this.blocks(reply),
        stop_reason: reply.kind === 'tool_use' ? 'tool_use' : 'end_turn',
        stop_sequence: null,
        usage: reply.usage ?? DEFAULT_USAGE,
      }),
    );
  }

  private stream(
    res: ServerResponse,
    model: string,
    reply: Exclude<ScriptedReply, { kind: 'error' }>,
  ): void {
    const usage = reply.usage ?? DEFAULT_USAGE;
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    const send = (event: string, data: Record<string, unknown>): void => {
      res.write(`event: ${event}\ndata: ${JSON.stringify({ type: event, ...data })}\n\n`);
    };
    send('message_start', {
      message: {
        id: `msg_mock_${++this.counter}`,
        type: 'message',
        role: 'assistant',
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: usage.input_tokens, output_tokens: 1 },
      },
    });
    this.blocks(reply).forEach((block, index) => {
      if (block.type === 'text') {
        send('content_block_start', { index, content_block: { type: 'text', text: '' } });
        send('content_block_delta', { index, delta: { type: 'text_delta', text: block.text } });
      } else {
        send('content_block_start', { index, content_block: { ...block, input: {} } });
        send('content_block_delta', {
          index,
          delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input) },
        });
      }
      send('content_block_stop', { index });
    });
    send('message_delta', {
      delta: {
        stop_reason: reply.kind === 'tool_use' ? 'tool_use' : 'end_turn',
        stop_sequence: null,
      },
      usage: { output_tokens: usage.output_tokens },
    });
    send('message_stop', {});
    res.end();
  }
}
