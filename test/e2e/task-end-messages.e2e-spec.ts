import request from 'supertest';
import type { App } from 'supertest/types';
import { AtomicWriter } from 'src/database/atomic-writer';
import { DeadlockingWriter } from 'test/e2e/support/deadlocking-writer';
import {
  copyFixtureProject,
  createSessionTask,
  FAKE_RUNNER_ENV,
  fakeClaudeWorkdir,
  fakeScript,
  Interaction,
  waitForTerminal,
} from 'test/e2e/support/task-polling';
import { describeMysql } from 'test/e2e/support/test-database';
import { createTestApp, TestApp } from 'test/e2e/support/test-app';

/**
 * A MESSAGE FROM A PERSON AS THE TASK ENDS, on real databases through the real migrations: the
 * message is stored (201) after the run read the messages no turn took and before it wrote the
 * task's end (the database's writer runs the request just before that write). It is listed in the
 * task's `messages_undelivered` record all the same, written with the end.
 */
function suite(kind: 'sqlite' | 'mysql'): void {
  const work = fakeClaudeWorkdir('cta-end-messages-');
  let t: TestApp;
  let server: App;

  beforeAll(async () => {
    t = await createTestApp({
      database: kind,
      env: FAKE_RUNNER_ENV,
      override: (builder) => builder.overrideProvider(AtomicWriter).useClass(DeadlockingWriter),
    });
    await t.app.listen(0, '127.0.0.1');
    server = t.app.getHttpServer() as App;
  });

  afterAll(async () => {
    await t?.close();
  });

  /**
   * Runs a task in a copy of node-basic (in place) to its end `status`, a message posted just
   * before the write of that end; the task's history and the message's record.
   */
  async function endWithLateMessage(
    name: string,
    task: Record<string, unknown>,
    status: 'COMPLETED' | 'FAILED',
  ): Promise<{ items: Interaction[]; late: Interaction }> {
    const project = copyFixtureProject('node-basic', work.root(), name);
    let id = '';
    let late: Interaction | null = null;
    const writer = t.app.get<AtomicWriter, DeadlockingWriter>(AtomicWriter);
    // The first write naming the status is the task's end (its row's new status).
    writer.before = {
      marker: status,
      run: async () => {
        const sent = await request(server)
          .post(`/api/v1/tasks/${id}/messages`)
          .send({ content: 'One more thing.' })
          .expect(201);
        late = sent.body as Interaction;
      },
    };
    id = await createSessionTask(server, { project_path: project, isolation: 'none' }, task);
    const { final } = await waitForTerminal(server, id);
    expect(final.status).toBe(status);
    expect(writer.before).toBeNull();
    expect(late).not.toBeNull();
    const items = (await request(server).get(`/api/v1/tasks/${id}/interactions`).expect(200)).body
      .items as Interaction[];
    return { items, late: late! };
  }

  /** The message is in no turn's prompt, and listed undelivered just before the task's end. */
  function expectListedUndelivered(items: Interaction[], late: Interaction, status: string): void {
    const naming = items.filter((i) =>
      ((i.data?.human_message_ids as number[] | undefined) ?? []).includes(late.id),
    );
    expect(naming.map((i) => [i.kind, i.data?.type])).toEqual([['system', 'messages_undelivered']]);
    expect(items.slice(-3).map((i) => [i.kind, i.data?.type ?? i.data?.to ?? null])).toEqual([
      ['human', null],
      ['system', 'messages_undelivered'],
      ['status', status],
    ]);
    expect(items.at(-3)!.id).toBe(late.id);
  }

  it('a message stored while the task ends COMPLETED is listed undelivered, in the same write as the end', async () => {
    const { items, late } = await endWithLateMessage(
      'ends-completed',
      {
        description: `Finish. ${fakeScript('success', 'write-tests lang=node result=pass name=ending')}`,
      },
      'COMPLETED',
    );
    expectListedUndelivered(items, late, 'COMPLETED');
  });

  it('a message stored while the task ends FAILED is listed undelivered, in the same write as the end', async () => {
    const { items, late } = await endWithLateMessage(
      'ends-failed',
      { description: `Stop short. ${fakeScript('stop-short')}`, max_iterations: 1 },
      'FAILED',
    );
    expectListedUndelivered(items, late, 'FAILED');
    expect(items.at(-1)!.data).toMatchObject({ reason: 'max_iterations_reached' });
  });
}

describe('a message as the task ends (SQLite)', () => suite('sqlite'));
describeMysql('a message as the task ends (MariaDB)', () => suite('mysql'));
