import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { eventually } from 'test/e2e/support/eventually';
import { ServerProcess, startTask, startTestServer } from 'test/e2e/support/server-process';
import { SseClient } from 'test/e2e/support/sse-client';
import {
  copyFixtureProject,
  fakeScript,
  Interaction,
  waitForTerminal,
} from 'test/e2e/support/task-polling';

/**
 * A CLIENT FOLLOWING A TASK ACROSS A SERVER RESTART (the built server as a process): the stream
 * ends when the server stops, the client reconnects to the next server with the last id it got,
 * and what it received in all is exactly the stored events, once each, in order.
 */
describe('task event streams across a server restart', () => {
  let work: string;
  let server: ServerProcess | null = null;

  const start = async (): Promise<ServerProcess> =>
    startTestServer(work, {
      DATABASE_URL: `sqlite:///${join(work, 'events.db')}`,
      FAKE_CLAUDE_STATE_DIR: join(work, 'fake-state'),
      FAKE_CLAUDE_LOG: join(work, 'fake-claude.log'),
      SSE_POLL_MS: '200',
    });

  beforeAll(() => {
    work = realpathSync(mkdtempSync(join(tmpdir(), 'cta-events-restart-')));
  });

  afterAll(async () => {
    if (server !== null && server.child.exitCode === null) {
      server.child.kill('SIGKILL');
      await server.exited;
    }
    rmSync(work, { recursive: true, force: true });
  });

  it('resumes with Last-Event-ID on the next server: the union is exactly the stored events', async () => {
    server = await start();
    const project = copyFixtureProject('node-basic', work, 'project');
    const taskId = await startTask(
      server.url,
      project,
      `Stream a lot. ${fakeScript('slow-stream lines=80 delay=50', 'success', 'write-tests lang=node')}`,
      { isolation: 'none' },
    );
    const streamUrl = (s: ServerProcess): string =>
      `${s.url as unknown as string}/api/v1/tasks/${taskId}/events`;
    const first = await SseClient.connect(streamUrl(server));
    await eventually('agent lines before the restart', () =>
      first.messages<Interaction>().some((i) => i.kind === 'assistant'),
    );
    server.child.kill('SIGTERM');
    await first.closed;
    expect(await server.exited).toBe('code 0');
    expect(first.end()).toBeUndefined();

    server = await start();
    const second = await SseClient.connect(streamUrl(server), {
      'Last-Event-ID': first.lastEventId!,
    });
    await second.closed;
    expect(second.end()).toMatchObject({ status: 'COMPLETED' });
    await waitForTerminal(server.url, taskId);
    const stored: Interaction[] = (
      await request(server.url).get(`/api/v1/tasks/${taskId}/interactions?limit=500`).expect(200)
    ).body.items;
    const received = [...first.messages<Interaction>(), ...second.messages<Interaction>()];
    expect(received.map((i) => i.id)).toEqual(stored.map((i) => i.id));
    expect(received).toEqual(stored);
    expect(stored.some((i) => i.kind === 'status' && i.data?.reason === 'shutdown')).toBe(true);
  });
});
