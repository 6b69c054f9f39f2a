import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import type { App } from 'supertest/types';
import { ApiKey } from 'src/auth/api-key.entity';
import { LeaseSweeperService } from 'src/orchestrator/lease-sweeper.service';
import { Clock } from 'src/common';
import {
  ClaimedTask,
  ExpiredLease,
  TaskQueueRepository,
} from 'src/orchestrator/task-queue.repository';
import {
  ClaudeInteraction,
  LateMessageError,
  LeaseLostError,
  Task,
  TaskEventLog,
  TaskMessages,
  TaskStatus,
  TestCase,
} from 'src/tasks';
import { WorkspacesService } from 'src/workspaces';
import { git } from 'test/e2e/support/git-repos';
import { createSessionTask } from 'test/e2e/support/task-polling';
import { describeMysql, TestDatabase, createTestDatabase } from 'test/e2e/support/test-database';
import { createTestApp, TestApp } from 'test/e2e/support/test-app';

/**
 * The queue's claim and fence on real databases through the real migrations, with two server
 * instances (two apps, two lease owners) sharing one database and the orchestrator loops off so
 * the test drives `claimNext` itself: concurrent claims never hand a task out twice nor two
 * tasks of one project, and a stale owner's writes change nothing once its task was taken over.
 */

function suite(kind: 'sqlite' | 'mysql'): void {
  let db: TestDatabase;
  let a: TestApp;
  let b: TestApp;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'queue-fence-'));
    db = await createTestDatabase(kind);
    a = await createTestApp({ database: db, env: { INSTANCE_ID: 'a', LEASE_SECONDS: '30' } });
    b = await createTestApp({ database: db, env: { INSTANCE_ID: 'b', LEASE_SECONDS: '30' } });
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await db?.drop();
    rmSync(work, { recursive: true, force: true });
  });

  const createTasks = async (projects: string[], perProject: number): Promise<string[]> => {
    const server = a.app.getHttpServer() as App;
    const ids: string[] = [];
    for (const name of projects) {
      const dir = join(work, name);
      mkdirSync(dir);
      const s = await request(server)
        .post('/api/v1/sessions')
        .send({ project_path: realpathSync(dir) })
        .expect(201);
      for (let i = 0; i < perProject; i += 1) {
        const t = await request(server)
          .post('/api/v1/tasks')
          .send({ session_id: s.body.id, description: `${name} #${i}` })
          .expect(201);
        ids.push(t.body.id as string);
      }
    }
    return ids;
  };

  it('concurrent claims from two instances: each task once, one task per project', async () => {
    const ids = await createTasks(['p1', 'p2', 'p3', 'p4', 'p5'], 2);
    const queues = [a.app.get(TaskQueueRepository), b.app.get(TaskQueueRepository)];
    expect(queues[0].owner).not.toBe(queues[1].owner);
    const claims = (
      await Promise.all(Array.from({ length: 16 }, (_, i) => queues[i % 2].claimNext()))
    ).filter((c): c is ClaimedTask => c !== null);

    const claimedIds = claims.map((c) => c.task.id);
    expect(new Set(claimedIds).size).toBe(claimedIds.length);
    const projects = claims.map((c) => c.task.projectPath);
    expect(new Set(projects).size).toBe(projects.length);
    expect(claims).toHaveLength(5);
    const rows = await a.dataSource.getRepository(Task).findBy({});
    const ours = rows.filter((r) => ids.includes(r.id));
    expect(ours.filter((r) => r.status === TaskStatus.Running)).toHaveLength(5);
    expect(ours.filter((r) => r.status === TaskStatus.Pending)).toHaveLength(5);
    for (const r of ours.filter((t) => t.status === TaskStatus.Running)) {
      expect(r.attempt).toBe(1);
      expect(queues.map((q) => q.owner)).toContain(r.leaseOwner);
      expect(r.phase).toBe('agent_turn');
    }
    expect(await queues[0].claimNext()).toBeNull();
  });

  it('a claimed task with a worktree shows its first phase, the preparation, from the claim on', async () => {
    const dir = join(work, 'repo');
    mkdirSync(dir);
    git(dir, 'init', '-q');
    git(dir, 'commit', '-q', '--allow-empty', '-m', 'base');
    const id = await createSessionTask(
      a.app.getHttpServer() as App,
      { project_path: realpathSync(dir), isolation: 'worktree' },
      'In a worktree.',
    );
    let claim: ClaimedTask | null = null;
    while (claim === null || claim.task.id !== id) {
      claim = await a.app.get(TaskQueueRepository).claimNext();
      if (claim === null) throw new Error('task not claimable');
    }
    expect(claim.task.phase).toBe('preparing_workspace');
    const row = await a.dataSource.getRepository(Task).findOneByOrFail({ id: claim.task.id });
    expect(row.status).toBe(TaskStatus.Running);
    expect(row.phase).toBe('preparing_workspace');
  });

  it("a stale owner's writes change nothing after the task was taken over", async () => {
    const [id] = await createTasks(['fenced'], 1);
    const queueA = a.app.get(TaskQueueRepository);
    const queueB = b.app.get(TaskQueueRepository);
    const logA = a.app.get(TaskEventLog);
    const logB = b.app.get(TaskEventLog);
    let claimA: ClaimedTask | null = null;
    while (claimA === null || claimA.task.id !== id) {
      claimA = await queueA.claimNext();
      if (claimA === null) throw new Error('task not claimable');
    }
    await logA.append(claimA.lease, [{ kind: 'assistant', iteration: 1, content: 'from A' }]);

    await a.dataSource
      .getRepository(Task)
      .update({ id }, { leaseExpiresAt: new Date(Date.now() - 60_000) });
    const taken = await b.app.get(LeaseSweeperService).sweep(() => false);
    expect(taken).toBeGreaterThanOrEqual(1);
    let claimB: ClaimedTask | null = null;
    while (claimB === null || claimB.task.id !== id) {
      claimB = await queueB.claimNext();
      if (claimB === null) throw new Error('task not re-claimable');
    }
    expect(claimB.lease.attempt).toBe(2);
    expect(claimB.resumed).toBe(false);

    const before = await a.dataSource.getRepository(Task).findOneByOrFail({ id });
    const published: string[] = [];
    const watch = logA.eventsOf(id).subscribe((e) => published.push(e.content));
    await expect(logA.update(claimA.lease, { iteration: 99 })).rejects.toBeInstanceOf(
      LeaseLostError,
    );
    await expect(
      logA.append(claimA.lease, [{ kind: 'assistant', iteration: 1, content: 'stale A' }]),
    ).rejects.toBeInstanceOf(LeaseLostError);
    await expect(
      logA.appendTestRun(
        claimA.lease,
        { kind: 'test', iteration: 1, content: 'stale test run' },
        [
          {
            iteration: 1,
            kind: 'generated',
            name: 'stale',
            filePath: null,
            status: 'passed',
            durationMs: 1,
            output: '',
          },
        ],
        { processGroupId: 4242 },
      ),
    ).rejects.toBeInstanceOf(LeaseLostError);
    await expect(
      logA.changeStatus(
        claimA.lease,
        { from: TaskStatus.Running, to: TaskStatus.Paused, reason: 'needs_input', iteration: 1 },
        {},
        [{ kind: 'prompt', iteration: 2, content: 'stale prompt' }],
      ),
    ).rejects.toBeInstanceOf(LeaseLostError);
    await expect(queueA.renew(claimA.lease)).rejects.toBeInstanceOf(LeaseLostError);
    watch.unsubscribe();
    expect(published).toEqual([]);

    const after = await a.dataSource.getRepository(Task).findOneByOrFail({ id });
    expect(after).toEqual(before);
    const contents = (
      await a.dataSource.getRepository(ClaudeInteraction).findBy({ taskId: id })
    ).map((i) => i.content);
    expect(contents).toContain('from A');
    expect(contents).not.toContain('stale A');
    expect(contents).not.toContain('stale test run');
    expect(contents).not.toContain('stale prompt');
    await logB.append(claimB.lease, [{ kind: 'assistant', iteration: 1, content: 'from B' }]);
    await logB.update(claimB.lease, { iteration: 1, processGroupId: 4343 });
    // The holder's test run: its record and its change to the row (the run's group forgotten).
    await logB.appendTestRun(
      claimB.lease,
      { kind: 'test', iteration: 1, content: 'test run of B' },
      [],
      { processGroupId: null },
    );
    const row = await b.dataSource.getRepository(Task).findOneByOrFail({ id });
    expect(row.processGroupId).toBeNull();
    // A round run again (a restart cut it off before the task's end): its cases replace the
    // first run's of that iteration and kind, and leave the others.
    const testCase = (kind: 'generated' | 'regression', name: string, iteration = 1) => ({
      iteration,
      kind,
      name,
      filePath: null,
      status: 'passed' as const,
      durationMs: 1,
      output: '',
    });
    const run = (content: string, cases: ReturnType<typeof testCase>[]) =>
      logB.appendTestRun(
        claimB.lease,
        { kind: 'test', iteration: 1, content },
        cases,
        {},
        { replaceRound: true },
      );
    await run('first generated run', [testCase('generated', 'a'), testCase('generated', 'b')]);
    await run('regression run', [testCase('regression', 'r')]);
    await run('generated run again', [testCase('generated', 'a'), testCase('generated', 'c')]);
    await logB.appendTestRun(claimB.lease, { kind: 'test', iteration: 2, content: 'next round' }, [
      testCase('generated', 'a', 2),
    ]);
    const cases = await b.dataSource
      .getRepository(TestCase)
      .find({ where: { taskId: id }, order: { id: 'ASC' } });
    expect(cases.map((c) => [c.iteration, c.kind, c.name])).toEqual([
      [1, 'regression', 'r'],
      [1, 'generated', 'a'],
      [1, 'generated', 'c'],
      [2, 'generated', 'a'],
    ]);
    const stored = await b.dataSource.getRepository(ClaudeInteraction).findBy({ taskId: id });
    expect(stored.map((i) => i.content)).toContain('test run of B');

    // The holder's prompt and its status change: one write, the prompt first.
    const publishedB: string[] = [];
    const watchB = logB.eventsOf(id).subscribe((e) => publishedB.push(e.kind));
    await logB.changeStatus(
      claimB.lease,
      { from: TaskStatus.Running, to: TaskStatus.Testing, reason: 'tests_requested', iteration: 2 },
      { phase: 'writing_tests' },
      [{ kind: 'simulated_human', iteration: 2, content: 'write the tests, B' }],
    );
    watchB.unsubscribe();
    expect(publishedB).toEqual(['simulated_human', 'status']);
    const last = await b.dataSource
      .getRepository(ClaudeInteraction)
      .find({ where: { taskId: id }, order: { id: 'DESC' }, take: 2 });
    expect(last.map((i) => [i.kind, i.content]).reverse()).toEqual([
      ['simulated_human', 'write the tests, B'],
      ['status', 'RUNNING -> TESTING (tests_requested)'],
    ]);
    expect(await b.dataSource.getRepository(Task).findOneByOrFail({ id })).toMatchObject({
      status: TaskStatus.Testing,
      phase: 'writing_tests',
    });
  });

  it('leaves a task whose owner renewed after the sweep looked', async () => {
    const [id] = await createTasks(['renewed'], 1);
    const queueA = a.app.get(TaskQueueRepository);
    let claim: ClaimedTask | null = null;
    while (claim === null || claim.task.id !== id) {
      claim = await queueA.claimNext();
      if (claim === null) throw new Error('task not claimable');
    }
    await a.dataSource
      .getRepository(Task)
      .update({ id }, { leaseExpiresAt: new Date(Date.now() - 60_000) });
    const queueB = b.app.get(TaskQueueRepository);
    const stale = (await queueB.findStaleLeases(() => false)).find((t) => t.id === id);
    expect(stale).toBeDefined();
    await queueA.renew(claim.lease);
    expect(await queueB.stillStale(stale!, false)).toBe(false);
    expect(await queueB.reclaimStale(stale!, 'alive')).toBeNull();
    const row = await a.dataSource.getRepository(Task).findOneByOrFail({ id });
    expect(row.status).toBe(TaskStatus.Running);
    expect(row.leaseOwner).toBe(queueA.owner);
    await a.app.get(TaskEventLog).release(claim.lease, {
      from: TaskStatus.Running,
      to: TaskStatus.Cancelled,
      reason: 'cancelled',
      iteration: 0,
    });
  });

  it("takes no live lease of another instance when its machine's clock jumps forward, nor when its Clock is ahead: the database judges the expiry", async () => {
    const [id] = await createTasks(['jumped'], 1);
    const queueA = a.app.get(TaskQueueRepository);
    let claim: ClaimedTask | null = null;
    while (claim === null || claim.task.id !== id) {
      claim = await queueA.claimNext();
      if (claim === null) throw new Error('task not claimable');
    }
    const clockB = b.app.get(Clock);
    const sweepB = b.app.get(LeaseSweeperService);
    const before = clockB.nowMs();
    const aheadMs = before - clockB.monotonicMs();
    // An NTP step or a VM resumed on b's machine: its wall clock a minute on, past a's lease. b's
    // Clock takes it in (it cannot tell a step from a sleep), yet the database decides.
    const systemNow = Date.now.bind(Date);
    const jump = jest.spyOn(Date, 'now').mockImplementation(() => systemNow() + 60_000);
    try {
      expect(clockB.nowMs() - before).toBeGreaterThanOrEqual(55_000);
      expect(await sweepB.sweep(() => false)).toBe(0);
    } finally {
      jump.mockRestore();
      clockB.follow(aheadMs);
    }
    // b's Clock a minute ahead all the same (a reading gone wrong): the database still decides.
    clockB.follow(aheadMs + 60_000);
    try {
      expect(await sweepB.sweep(() => false)).toBe(0);
      const stale: ExpiredLease = {
        id,
        attempt: 1,
        leaseOwner: queueA.owner,
        leaseExpiresAt: claim.task.leaseExpiresAt,
        processGroupId: null,
        workDir: claim.task.projectPath,
        status: TaskStatus.Running,
      };
      expect(await b.app.get(TaskQueueRepository).stillStale(stale, false)).toBe(false);
    } finally {
      clockB.follow(aheadMs);
    }
    const row = await a.dataSource.getRepository(Task).findOneByOrFail({ id });
    expect(row).toMatchObject({ status: TaskStatus.Running, attempt: 1, leaseOwner: queueA.owner });
    await a.app.get(TaskEventLog).release(claim.lease, {
      from: TaskStatus.Running,
      to: TaskStatus.Cancelled,
      reason: 'cancelled',
      iteration: 0,
    });
  });

  it('fails a task whose server died MAX_TASK_ATTEMPTS times listing the messages no turn took, one stored as it was taken too (read again, the write made again)', async () => {
    const [id] = await createTasks(['died'], 1);
    const queueA = a.app.get(TaskQueueRepository);
    let claim: ClaimedTask | null = null;
    while (claim === null || claim.task.id !== id) {
      claim = await queueA.claimNext();
      if (claim === null) throw new Error('task not claimable');
    }
    const messagesA = a.app.get(TaskMessages);
    const first = await messagesA.send(id, 'Use the helper.');
    // Its server died twice before; this is the third time (MAX_TASK_ATTEMPTS: 3).
    await a.dataSource.getRepository(Task).update({ id }, { restarts: 2 });
    const queueB = b.app.get(TaskQueueRepository);
    const stale = (await queueB.findStaleLeases(() => true)).find((t) => t.id === id);
    expect(stale).toBeDefined();
    // A message stored just after the sweep read the ones no turn took, before its write.
    const messagesB = b.app.get(TaskMessages);
    const read = messagesB.undeliveredNote.bind(messagesB);
    let late: ClaudeInteraction | null = null;
    const spy = jest.spyOn(messagesB, 'undeliveredNote').mockImplementationOnce(async (...args) => {
      const note = await read(...args);
      late = await messagesA.send(id, 'And keep the tests fast.');
      return note;
    });
    // Its write is refused, and made again at once listing both (the work it kept, committed
    // before the first write, said with it: a later sweep would find the workspace clean).
    try {
      expect(await queueB.reclaimStale(stale!, 'gone')).toBe(TaskStatus.Failed);
      expect(spy).toHaveBeenCalledTimes(2);
    } finally {
      spy.mockRestore();
    }
    expect(late).not.toBeNull();
    const items = await a.dataSource
      .getRepository(ClaudeInteraction)
      .find({ where: { taskId: id }, order: { id: 'ASC' } });
    expect(items.slice(-2).map((i) => [i.kind, i.data?.type ?? i.data?.to])).toEqual([
      ['system', 'messages_undelivered'],
      ['status', TaskStatus.Failed],
    ]);
    expect(items.at(-2)!.data).toMatchObject({ human_message_ids: [first.id, late!.id] });
    expect(items.at(-1)!.data).toMatchObject({ reason: 'server_restart' });
  });

  it('counts the leases that ran out with their owner on another host, and fails the task server_restart at twice MAX_TASK_ATTEMPTS', async () => {
    const [id] = await createTasks(['elsewhere'], 1);
    const queueA = a.app.get(TaskQueueRepository);
    const sweepB = b.app.get(LeaseSweeperService);
    const rows = a.dataSource.getRepository(Task);
    // A's claim handed to an owner on another host, whose lease ran out: dead or stalled there,
    // b cannot tell.
    const lostElsewhere = async (leaseExpiries: number): Promise<Task> => {
      let claim: ClaimedTask | null = null;
      while (claim === null || claim.task.id !== id) {
        claim = await queueA.claimNext();
        if (claim === null) throw new Error('task not claimable');
      }
      await rows.update(
        { id },
        {
          leaseOwner: 'elsewhere.example:4026531836:1:abcd1234',
          leaseExpiresAt: new Date(Date.now() - 60_000),
          leaseExpiries,
        },
      );
      await sweepB.sweep(() => false);
      return rows.findOneByOrFail({ id });
    };
    expect(await lostElsewhere(0)).toMatchObject({
      status: TaskStatus.Pending,
      statusReason: 'lease_expired',
      restarts: 0,
      leaseExpiries: 1,
    });
    // MAX_TASK_ATTEMPTS is 3: the sixth such expiry ends it.
    expect(await lostElsewhere(5)).toMatchObject({
      status: TaskStatus.Failed,
      statusReason: 'server_restart',
      restarts: 0,
      leaseExpiries: 6,
      errorMessage: expect.stringMatching(
        /^The lease of the server running this task ran out 6 time\(s\) without that server being seen to stop/,
      ) as unknown,
    });
  });

  it("takes a stalled owner's task without committing its work: the owner lives, and the workspace stays as it left it", async () => {
    const project = join(work, 'stalled');
    mkdirSync(project);
    git(project, 'init', '-q', '-b', 'main');
    writeFileSync(join(project, 'a.txt'), 'base\n');
    git(project, 'add', '-A');
    git(project, 'commit', '-q', '-m', 'base');
    const server = a.app.getHttpServer() as App;
    const session = await request(server)
      .post('/api/v1/sessions')
      .send({ project_path: realpathSync(project) })
      .expect(201);
    expect(session.body.isolation).toBe('worktree');
    const created = await request(server)
      .post('/api/v1/tasks')
      .send({ session_id: session.body.id, description: 'stalled' })
      .expect(201);
    const id = created.body.id as string;
    const queueA = a.app.get(TaskQueueRepository);
    let claim: ClaimedTask | null = null;
    while (claim === null || claim.task.id !== id) {
      claim = await queueA.claimNext();
      if (claim === null) throw new Error('task not claimable');
    }
    // A's run checks its workspace out, records it, and its agent leaves work uncommitted there.
    const { task } = claim;
    const prepared = await a.app.get(WorkspacesService).prepare({
      taskId: id,
      description: task.description,
      projectPath: task.projectPath,
      gitDir: task.gitDir!,
      baseCommit: task.baseCommit!,
      branch: null,
      workspacePath: null,
    });
    await a.app.get(TaskEventLog).update(claim.lease, {
      workspacePath: prepared.path,
      branch: prepared.branch,
    });
    writeFileSync(join(prepared.directory, 'a.txt'), 'work in progress\n');
    // A stalls (frozen, or cut off from the database): its lease runs out, its process lives.
    // A cancel asked meanwhile is left for the sweep, which ends the task instead of re-queueing.
    await a.dataSource
      .getRepository(Task)
      .update({ id }, { leaseExpiresAt: new Date(Date.now() - 60_000), cancelRequested: true });
    await b.app.get(LeaseSweeperService).sweep(() => false);

    const row = await a.dataSource.getRepository(Task).findOneByOrFail({ id });
    expect([row.status, row.statusReason, row.leaseOwner, row.headCommit]).toEqual([
      TaskStatus.Cancelled,
      'cancelled',
      null,
      null,
    ]);
    // Nothing was committed: the branch is where A's workspace started, the work still uncommitted.
    expect(git(project, 'rev-parse', prepared.branch).trim()).toBe(task.baseCommit);
    expect(git(prepared.path, 'status', '--porcelain')).toBe(' M a.txt\n');
    const records = await a.dataSource.getRepository(ClaudeInteraction).findBy({ taskId: id });
    expect(records.map((r) => (r.data as { type?: string } | null)?.type)).not.toContain(
      'work_kept',
    );
    expect(records.filter((r) => r.kind === 'status').map((r) => r.data)).toContainEqual(
      expect.objectContaining({
        to: 'CANCELLED',
        reason: 'cancelled',
        previous_owner: queueA.owner,
      }),
    );
  });

  it('keeps the history in order when cancels race claims: never claimed after cancelled', async () => {
    const rounds = kind === 'mysql' ? 100 : 30;
    // One project per task, so every claim is free to win its race.
    const ids = await createTasks(
      Array.from({ length: rounds }, (_, i) => `race-${i}`),
      1,
    );
    const queueB = b.app.get(TaskQueueRepository);
    const serverA = a.app.getHttpServer() as App;
    for (const id of ids) {
      await Promise.all([
        request(serverA).post(`/api/v1/tasks/${id}/cancel`).expect(200),
        queueB.claimNext(),
      ]);
    }
    // Whatever won, each task's status records chain: every change starts where the last ended.
    const records = await a.dataSource
      .getRepository(ClaudeInteraction)
      .find({ where: { kind: 'status' }, order: { id: 'ASC' } });
    for (const id of ids) {
      const chain = records
        .filter((r) => r.taskId === id)
        .map((r) => r.data as { from: string; to: string });
      expect(chain.length).toBeGreaterThanOrEqual(1);
      expect(chain[0].from).toBe('PENDING');
      for (let k = 1; k < chain.length; k += 1) expect(chain[k].from).toBe(chain[k - 1].to);
      const cancelledAt = chain.findIndex((c) => c.to === 'CANCELLED');
      if (cancelledAt >= 0) expect(chain.slice(cancelledAt + 1)).toEqual([]);
    }
    const claimed = (await a.dataSource.getRepository(Task).find()).filter(
      (t) => ids.includes(t.id) && t.attempt === 1,
    );
    expect(claimed.length).toBeGreaterThan(0);
    // Tasks B claimed get their cancel from B, as a live owner would act on the flag.
    const logB = b.app.get(TaskEventLog);
    for (const row of await a.dataSource.getRepository(Task).findBy({ leaseOwner: queueB.owner })) {
      if (!ids.includes(row.id)) continue;
      await logB.release(
        { taskId: row.id, attempt: row.attempt, owner: queueB.owner },
        { from: row.status, to: TaskStatus.Cancelled, reason: 'cancelled', iteration: 0 },
      );
    }
  });

  it('cancels a queued task whose cancel was requested while it was live, saying which messages no turn took', async () => {
    const [id] = await createTasks(['flagged'], 1);
    const unread = await a.app.get(TaskMessages).send(id, 'Before you start.');
    await a.dataSource.getRepository(Task).update({ id }, { cancelRequested: true });
    const queueB = b.app.get(TaskQueueRepository);
    expect(await queueB.cancelFlagged()).toEqual([id]);
    const row = await a.dataSource.getRepository(Task).findOneByOrFail({ id });
    expect(row.status).toBe(TaskStatus.Cancelled);
    expect(row.statusReason).toBe('cancelled');
    const statuses = await a.dataSource
      .getRepository(ClaudeInteraction)
      .findBy({ taskId: id, kind: 'status' });
    expect(statuses.map((i) => i.data)).toEqual([
      { from: 'PENDING', to: 'CANCELLED', reason: 'cancelled' },
    ]);
    const note = await a.dataSource
      .getRepository(ClaudeInteraction)
      .findOneByOrFail({ taskId: id, kind: 'system' });
    expect(note.data).toMatchObject({
      type: 'messages_undelivered',
      human_message_ids: [unread.id],
    });
    expect(note.id).toBeLessThan(statuses[0].id);
    expect(await queueB.cancelFlagged()).toEqual([]);
  });

  it('a flagged task whose owner key is revoked by now ends owner_key_revoked, as the revocation would have ended it', async () => {
    const [id] = await createTasks(['flagged-revoked'], 1);
    // A key revoked in the table, as by another server (this one's revocation would cancel the
    // task itself); written straight to the table and removed after, so that the API of the
    // other tests goes on without keys.
    const keys = a.dataSource.getRepository(ApiKey);
    const owner = randomUUID();
    await keys.insert({
      id: owner,
      name: 'owner',
      prefix: owner.slice(0, 8),
      keyHash: 'x'.repeat(64),
      scopes: 'tasks:write',
      createdByKeyId: null,
      createdAt: new Date(),
      expiresAt: null,
      revokedAt: new Date(),
      lastUsedAt: null,
    });
    await a.dataSource
      .getRepository(Task)
      .update({ id }, { ownerKeyId: owner, cancelRequested: true });
    try {
      expect(await b.app.get(TaskQueueRepository).cancelFlagged()).toEqual([id]);
    } finally {
      await keys.delete({ id: owner });
    }
    const row = await a.dataSource.getRepository(Task).findOneByOrFail({ id });
    expect(row).toMatchObject({
      status: TaskStatus.Cancelled,
      statusReason: 'owner_key_revoked',
      errorMessage:
        'The API key that owns this task was revoked: the task was stopped before its next step (no agent turn, test or setup command starts).',
    });
    const note = await a.dataSource
      .getRepository(ClaudeInteraction)
      .findOneByOrFail({ taskId: id, kind: 'system' });
    expect(note.data).toMatchObject({ type: 'owner_key_refused', refusal: 'revoked' });
  });

  it("refuses a turn's prompt write while a message stored after those it read waits: nothing written, and LeaseLostError still for a lost lease", async () => {
    const [id] = await createTasks(['late-message'], 1);
    const queue = a.app.get(TaskQueueRepository);
    const log = a.app.get(TaskEventLog);
    const messages = a.app.get(TaskMessages);
    let claim: ClaimedTask | null = null;
    while (claim === null || claim.task.id !== id) {
      claim = await queue.claimNext();
      if (claim === null) throw new Error('task not claimable');
    }
    const read = await messages.send(id, 'Read in time.');
    const before = await messages.waiting(id);
    expect(before).toEqual({
      messages: [{ id: read.id, content: 'Read in time.', interrupt: false }],
      readThrough: read.id,
    });
    const late = await messages.send(id, 'Stored meanwhile.');
    const prompt = { kind: 'simulated_human' as const, iteration: 1, content: 'Go on.' };
    const guard = { noMessageAfter: before.readThrough };
    await expect(log.append(claim.lease, [prompt], { iteration: 1 }, guard)).rejects.toBeInstanceOf(
      LateMessageError,
    );
    await expect(
      log.changeStatus(
        claim.lease,
        { from: TaskStatus.Running, to: TaskStatus.Testing, reason: 'tests_running', iteration: 1 },
        { iteration: 1 },
        [prompt],
        guard,
      ),
    ).rejects.toBeInstanceOf(LateMessageError);
    const stale = { ...claim.lease, attempt: claim.lease.attempt + 1 };
    const again = await messages.waiting(id);
    expect(again.messages.map((m) => m.id)).toEqual([read.id, late.id]);
    await expect(
      log.append(stale, [prompt], { iteration: 1 }, { noMessageAfter: again.readThrough }),
    ).rejects.toBeInstanceOf(LeaseLostError);
    const row = await a.dataSource.getRepository(Task).findOneByOrFail({ id });
    expect(row).toMatchObject({ status: TaskStatus.Running, iteration: 0 });
    expect(
      await a.dataSource
        .getRepository(ClaudeInteraction)
        .countBy({ taskId: id, kind: 'simulated_human' }),
    ).toBe(0);

    await log.append(
      claim.lease,
      [prompt],
      { iteration: 1 },
      { noMessageAfter: again.readThrough },
    );
    expect(await messages.waiting(id)).toEqual({ messages: [], readThrough: expect.any(Number) });
    const next = await messages.send(id, 'After the prompt.');
    expect((await messages.waiting(id)).messages.map((m) => m.id)).toEqual([next.id]);
  });

  it("tells another instance which of its tasks' turns to interrupt (a message sent with interrupt) and which to cancel", async () => {
    const [interrupted, cancelled, plain] = await createTasks(['requests'], 3);
    const messages = a.app.get(TaskMessages);
    await messages.send(interrupted, 'Stop there.', true);
    await messages.send(plain, 'Just a note.');
    await a.dataSource
      .getRepository(Task)
      .update({ id: cancelled }, { cancelRequested: true, interruptRequested: true });
    const queueB = b.app.get(TaskQueueRepository);
    expect(await queueB.requests([interrupted, cancelled, plain])).toEqual({
      cancel: [cancelled],
      interrupt: [interrupted],
    });
    expect(await queueB.cancelFlagged()).toEqual([cancelled]);
  });
}

describe('Task queue claims and fencing (SQLite, two instances)', () => suite('sqlite'));
describeMysql('Task queue claims and fencing (MariaDB, two instances)', () => suite('mysql'));
