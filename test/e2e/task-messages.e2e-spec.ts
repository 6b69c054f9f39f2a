import { writeFileSync } from 'fs';
import { join } from 'path';
import request from 'supertest';
import type { App } from 'supertest/types';
import { AtomicWriter } from 'src/database/atomic-writer';
import { MAX_UNDELIVERED_MESSAGES, TaskMessages } from 'src/tasks';
import { DeadlockingWriter } from 'test/e2e/support/deadlocking-writer';
import { eventually } from 'test/e2e/support/eventually';
import {
  copyFixtureProject,
  createSessionTask,
  FAKE_RUNNER_ENV,
  fakeClaudeWorkdir,
  fakeInvocations,
  fakeScript,
  Interaction,
  quoted,
  TaskDetails,
  waitForTerminal,
} from 'test/e2e/support/task-polling';
import { createTestApp, TestApp } from 'test/e2e/support/test-app';

/**
 * MESSAGES FROM A PERSON to a running task: stored as `human` interactions, given to the agent by
 * its next turn (the fake CLI logs every prompt), refused once the task is finished.
 */

const work = fakeClaudeWorkdir('cta-messages-');

describe('task messages', () => {
  let t: TestApp;
  let server: App;

  beforeAll(async () => {
    t = await createTestApp({
      env: {
        ...FAKE_RUNNER_ENV,
        API_ERROR_RETRY_DELAY_SECONDS: '3600',
        API_ERROR_RETRY_MAX_DELAY_SECONDS: '3600',
      },
      override: (builder) => builder.overrideProvider(AtomicWriter).useClass(DeadlockingWriter),
    });
    await t.app.listen(0, '127.0.0.1');
    server = t.app.getHttpServer() as App;
  });

  afterAll(async () => {
    await t?.close();
  });

  /** A task created in a copy of node-basic, worked on in place. */
  async function inPlaceTask(
    name: string,
    description: string,
  ): Promise<{ id: string; project: string }> {
    const project = copyFixtureProject('node-basic', work.root(), name);
    const id = await createSessionTask(
      server,
      { project_path: project, isolation: 'none' },
      description,
    );
    return { id, project };
  }

  /** A task in a copy of node-basic (in place), once its first turn streams. */
  async function streamingTask(
    name: string,
    description: string,
  ): Promise<{ id: string; project: string }> {
    const { id, project } = await inPlaceTask(name, description);
    await eventually('the first turn to stream', async () => {
      const res = await request(server).get(`/api/v1/tasks/${id}/interactions`).expect(200);
      return (res.body.items as Interaction[]).some((i) => i.kind === 'assistant');
    });
    return { id, project };
  }

  it("delivers a running task's messages, in order, with its next turn; 409 once finished", async () => {
    const { id, project } = await streamingTask(
      'messages',
      `Stream, then finish. ${fakeScript(
        'slow-stream lines=60 delay=50',
        'success',
        'write-tests lang=node result=pass name=messaged',
      )}`,
    );
    const first = await request(server)
      .post(`/api/v1/tasks/${id}/messages`)
      .send({ content: 'Keep the old signature.' })
      .expect(201);
    const second = await request(server)
      .post(`/api/v1/tasks/${id}/messages`)
      .send({ content: 'And add a docstring.' })
      .expect(201);
    expect(first.body).toMatchObject({ kind: 'human', content: 'Keep the old signature.' });
    const result = await waitForTerminal(server, id);
    expect(result.final.status).toBe('COMPLETED');

    const runs = fakeInvocations(work.logFile(), project);
    const delivered = runs.filter((r) => r.prompt.includes('Keep the old signature.'));
    expect(delivered).toHaveLength(1);
    expect(delivered[0]).toBe(runs[1]);
    const prompt = delivered[0].prompt;
    expect(prompt.indexOf('Keep the old signature.')).toBeLessThan(
      prompt.indexOf('And add a docstring.'),
    );
    const details = (await request(server).get(`/api/v1/tasks/${id}`).expect(200))
      .body as TaskDetails;
    const turnPrompt = details.interactions.find((i) => i.data?.human_message_ids !== undefined);
    expect(turnPrompt).toMatchObject({
      kind: 'simulated_human',
      data: { human_message_ids: [first.body.id, second.body.id] },
    });
    expect(turnPrompt!.id).toBeGreaterThan(second.body.id as number);

    const late = await request(server)
      .post(`/api/v1/tasks/${id}/messages`)
      .send({ content: 'Too late?' })
      .expect(409);
    expect(late.body).toMatchObject({ code: 'task_finished', details: { status: 'COMPLETED' } });
    await request(server).post(`/api/v1/tasks/${id}/messages`).send({ content: ' ' }).expect(400);
  });
  it('a message stored while the next turn writes its prompt goes into that prompt, not lost', async () => {
    const { id, project } = await streamingTask(
      'messages-late',
      `Stream, then finish. ${fakeScript(
        'slow-stream lines=60 delay=50',
        'success',
        'write-tests lang=node result=pass name=late',
      )}`,
    );
    const first = await request(server)
      .post(`/api/v1/tasks/${id}/messages`)
      .send({ content: 'Keep the old signature.' })
      .expect(201);
    // Between the next turn's read of the messages and its prompt's write, another is stored.
    const writer = t.app.get<AtomicWriter, DeadlockingWriter>(AtomicWriter);
    let late: { id: number } | null = null;
    writer.before = {
      marker: 'Keep the old signature.',
      inText: true,
      run: async () => (late = await t.app.get(TaskMessages).send(id, 'Slipped in meanwhile.')),
    };
    const result = await waitForTerminal(server, id);
    expect(result.final.status).toBe('COMPLETED');
    expect(writer.before).toBeNull();
    expect(late).not.toBeNull();

    const runs = fakeInvocations(work.logFile(), project);
    expect(runs[1].prompt).toContain('Keep the old signature.');
    expect(runs[1].prompt).toContain('Slipped in meanwhile.');
    const details = (await request(server).get(`/api/v1/tasks/${id}`).expect(200))
      .body as TaskDetails;
    const prompts = details.interactions.filter((i) => i.data?.human_message_ids !== undefined);
    expect(prompts).toHaveLength(1);
    expect(prompts[0].data).toMatchObject({ human_message_ids: [first.body.id, late!.id] });
  });

  it("a person's message is the answer to the agent's question: given instead of the simulated human's, no pause counted (max_pauses 0)", async () => {
    const project = copyFixtureProject('node-basic', work.root(), 'messages-answer');
    const answered = join(work.root(), 'messages-answer.may-end');
    const id = await createSessionTask(
      server,
      { project_path: project, isolation: 'none' },
      {
        description: `Ask, then finish. ${fakeScript(
          `slow-stream until=${quoted(answered)} delay=50 text=${quoted('Should I use option A or option B?')}`,
          'success',
          'write-tests lang=node result=pass name=answered',
        )}`,
        max_pauses: 0,
      },
    );
    await eventually('the first turn to stream', async () => {
      const res = await request(server).get(`/api/v1/tasks/${id}/interactions`).expect(200);
      return (res.body.items as Interaction[]).some((i) => i.kind === 'assistant');
    });
    const sent = await request(server)
      .post(`/api/v1/tasks/${id}/messages`)
      .send({ content: 'Use option B.' })
      .expect(201);
    // The first turn ends with its question only once the message is stored.
    writeFileSync(answered, '');

    const result = await waitForTerminal(server, id);
    expect(result.final).toMatchObject({ status: 'COMPLETED', pause_count: 0 });
    const runs = fakeInvocations(work.logFile(), project);
    expect(runs[1].prompt).toContain('Use option B.');
    expect(runs[1].prompt).not.toContain('nobody available to answer');
    const details = (await request(server).get(`/api/v1/tasks/${id}`).expect(200))
      .body as TaskDetails;
    const next = details.interactions.find((i) => i.data?.human_message_ids !== undefined);
    expect(next).toMatchObject({
      kind: 'prompt',
      iteration: 2,
      data: { intervention: false, human_message_ids: [sent.body.id] },
    });
    expect(details.interactions.some((i) => i.data?.type === 'messages_undelivered')).toBe(false);
  });

  it('a message sent with interrupt ends the turn under way: the next turn carries it on in the same conversation, no pause counted', async () => {
    const { id, project } = await inPlaceTask(
      'interrupt',
      `Work until told. ${fakeScript(
        'hang signals=interrupt',
        'success',
        'write-tests lang=node result=pass name=interrupted',
      )}`,
    );
    await eventually('the first turn to start its conversation', async () => {
      const res = await request(server).get(`/api/v1/tasks/${id}`).expect(200);
      return res.body.claude_session_id !== null;
    });
    const sent = await request(server)
      .post(`/api/v1/tasks/${id}/messages`)
      .send({ content: 'Stop: reuse the existing helper.', interrupt: true })
      .expect(201);
    expect(sent.body).toMatchObject({ kind: 'human', data: { interrupt: true } });

    const result = await waitForTerminal(server, id);
    expect(result.final).toMatchObject({ status: 'COMPLETED', pause_count: 0 });
    const runs = fakeInvocations(work.logFile(), project);
    expect(runs[0].scenario).toBe('hang');
    expect(runs[1]).toMatchObject({ resume: true, sessionId: runs[0].sessionId });
    expect(runs[1].prompt).toContain('Stop: reuse the existing helper.');
    const details = (await request(server).get(`/api/v1/tasks/${id}`).expect(200))
      .body as TaskDetails;
    const next = details.interactions.find((i) => i.data?.human_message_ids !== undefined);
    expect(next).toMatchObject({
      kind: 'simulated_human',
      iteration: 2,
      data: {
        reason: 'person_interrupted',
        intervention: false,
        human_message_ids: [sent.body.id],
      },
    });
    const firstTurn = details.interactions.filter((i) => i.iteration === 1);
    expect(firstTurn.filter((i) => i.kind === 'error')).toEqual([]);
    expect(firstTurn.filter((i) => i.data?.type === 'turn_interrupted')).toHaveLength(1);
    // The CLI's own "[Request interrupted by user]" line is an interruption, not an unknown line.
    expect(firstTurn.filter((i) => i.data?.type === 'unknown')).toEqual([]);
    expect(firstTurn.find((i) => i.data?.type === 'interrupted')).toMatchObject({
      kind: 'system',
      data: { text: '[Request interrupted by user]' },
    });
  });

  it('a message sent with interrupt ends the wait after an API error: the next turn has it at once', async () => {
    const { id, project } = await inPlaceTask(
      'interrupt-wait',
      `Work after an outage. ${fakeScript(
        'api-error status=529',
        'success',
        'write-tests lang=node result=pass name=after_wait',
      )}`,
    );
    // The run waits API_ERROR_RETRY_DELAY_SECONDS (an hour here) once the error's result is in.
    await eventually("the API error's result to be stored", async () => {
      const res = await request(server).get(`/api/v1/tasks/${id}`).expect(200);
      const details = res.body as TaskDetails;
      return details.interactions.some((i) => i.kind === 'result' && i.iteration === 1);
    });
    const sent = await request(server)
      .post(`/api/v1/tasks/${id}/messages`)
      .send({ content: 'The API is back: go on.', interrupt: true })
      .expect(201);

    const result = await waitForTerminal(server, id);
    expect(result.final).toMatchObject({ status: 'COMPLETED' });
    const runs = fakeInvocations(work.logFile(), project);
    expect(runs[1].prompt).toContain('The API is back: go on.');
    const details = (await request(server).get(`/api/v1/tasks/${id}`).expect(200))
      .body as TaskDetails;
    const next = details.interactions.find(
      (i) => i.iteration === 2 && i.kind === 'simulated_human',
    );
    expect(next?.data).toMatchObject({
      reason: 'recover_error',
      human_message_ids: [sent.body.id],
      wait_cut_short: true,
    });
    expect(next?.data?.waited_ms).toBeLessThan(3_600_000);
  });

  it('a message whose write loses a deadlock is written again: 201, stored once', async () => {
    const { id } = await streamingTask(
      'messages-deadlock',
      `Stream for a while. ${fakeScript('slow-stream lines=40 delay=50')}`,
    );
    const writer = t.app.get<AtomicWriter, DeadlockingWriter>(AtomicWriter);
    writer.failOnce = 'Mind the deadlock.';
    const sent = await request(server)
      .post(`/api/v1/tasks/${id}/messages`)
      .send({ content: 'Mind the deadlock.' })
      .expect(201);
    expect(writer.failOnce).toBeNull();
    await request(server).post(`/api/v1/tasks/${id}/cancel`).expect(200);
    await waitForTerminal(server, id);
    const items = (await request(server).get(`/api/v1/tasks/${id}/interactions`).expect(200)).body
      .items as Interaction[];
    expect(items.filter((i) => i.content === 'Mind the deadlock.').map((i) => i.id)).toEqual([
      sent.body.id,
    ]);
  });

  it('a cancelled task says which messages no turn took, and takes none once cancelled', async () => {
    const { id } = await streamingTask(
      'messages-cancel',
      `Stream for long. ${fakeScript('slow-stream lines=400 delay=50')}`,
    );
    const unread = await request(server)
      .post(`/api/v1/tasks/${id}/messages`)
      .send({ content: 'Never mind the tests.' })
      .expect(201);
    await request(server).post(`/api/v1/tasks/${id}/cancel`).expect(200);
    const refused = await request(server)
      .post(`/api/v1/tasks/${id}/messages`)
      .send({ content: 'Wait, one more thing.' })
      .expect(409);
    expect(refused.body.code).toBe('task_finished');
    expect((await waitForTerminal(server, id)).final.status).toBe('CANCELLED');
    const items = (await request(server).get(`/api/v1/tasks/${id}/interactions`).expect(200)).body
      .items as Interaction[];
    const note = items.find((i) => i.data?.type === 'messages_undelivered');
    expect(note).toMatchObject({ kind: 'system', data: { human_message_ids: [unread.body.id] } });
    const end = items.find((i) => i.kind === 'status' && i.content.includes('CANCELLED'));
    expect(note!.id).toBeLessThan(end!.id);
    expect(items.map((i) => i.content)).not.toContain('Wait, one more thing.');
  });

  /**
   * A task streaming in a project in place, and a second task of it queued behind it (it waits for
   * the first) with a message 'Before you start.'.
   */
  async function queuedBehind(
    name: string,
  ): Promise<{ running: string; queuedId: string; unreadId: number }> {
    const { id: running } = await streamingTask(
      name,
      `Hold the project. ${fakeScript('slow-stream lines=400 delay=50')}`,
    );
    const details = await request(server).get(`/api/v1/tasks/${running}`).expect(200);
    const queued = await request(server)
      .post('/api/v1/tasks')
      .send({ session_id: details.body.session_id, description: 'Then this.' })
      .expect(201);
    const queuedId = queued.body.id as string;
    const unread = await request(server)
      .post(`/api/v1/tasks/${queuedId}/messages`)
      .send({ content: 'Before you start.' })
      .expect(201);
    return { running, queuedId, unreadId: unread.body.id as number };
  }

  it('a queued task cancelled before it ran says which messages no turn took, before its end', async () => {
    const { running, queuedId, unreadId } = await queuedBehind('messages-queued');
    const cancelled = await request(server).post(`/api/v1/tasks/${queuedId}/cancel`).expect(200);
    expect(cancelled.body.status).toBe('CANCELLED');
    await request(server).post(`/api/v1/tasks/${running}/cancel`).expect(200);
    const items = (await request(server).get(`/api/v1/tasks/${queuedId}/interactions`).expect(200))
      .body.items as Interaction[];
    expect(items.map((i) => [i.kind, i.data?.type ?? null])).toEqual([
      ['human', null],
      ['system', 'messages_undelivered'],
      ['status', null],
    ]);
    expect(items[1].data).toMatchObject({ human_message_ids: [unreadId] });
    expect(items[2].content).toContain('CANCELLED');
  });

  it('takes at most MAX_UNDELIVERED_MESSAGES that no turn has taken: 409 messages_pending after', async () => {
    const { running, queuedId } = await queuedBehind('messages-cap');
    for (let i = 1; i < MAX_UNDELIVERED_MESSAGES; i += 1) {
      await request(server)
        .post(`/api/v1/tasks/${queuedId}/messages`)
        .send({ content: `Message ${i}.` })
        .expect(201);
    }
    const refused = await request(server)
      .post(`/api/v1/tasks/${queuedId}/messages`)
      .send({ content: 'One too many.' })
      .expect(409);
    expect(refused.body).toMatchObject({
      code: 'messages_pending',
      details: { max_undelivered_messages: MAX_UNDELIVERED_MESSAGES },
    });
    const undelivered = await t.app.get(TaskMessages).undelivered(queuedId);
    expect(undelivered).toHaveLength(MAX_UNDELIVERED_MESSAGES);
    expect(undelivered.map((m) => m.content)).not.toContain('One too many.');
    await request(server).post(`/api/v1/tasks/${queuedId}/cancel`).expect(200);
    await request(server).post(`/api/v1/tasks/${running}/cancel`).expect(200);
  });

  it('a message stored while a queued task is cancelled is listed as undelivered too', async () => {
    const { running, queuedId } = await queuedBehind('messages-race');
    // Between the cancel's look at the messages and its write, another message is stored.
    const writer = t.app.get<AtomicWriter, DeadlockingWriter>(AtomicWriter);
    writer.before = {
      marker: 'Cancelled on request before it started.',
      run: () => t.app.get(TaskMessages).send(queuedId, 'Slipped in.'),
    };
    await request(server).post(`/api/v1/tasks/${queuedId}/cancel`).expect(200);
    expect(writer.before).toBeNull();
    await request(server).post(`/api/v1/tasks/${running}/cancel`).expect(200);
    const items = (await request(server).get(`/api/v1/tasks/${queuedId}/interactions`).expect(200))
      .body.items as Interaction[];
    const humans = items.filter((i) => i.kind === 'human').map((i) => i.id);
    expect(humans).toHaveLength(2);
    const note = items.find((i) => i.data?.type === 'messages_undelivered');
    expect(note?.data).toMatchObject({ human_message_ids: humans });
  });
});
