import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import {
  catchError,
  concat,
  concatMap,
  defer,
  EMPTY,
  exhaustMap,
  expand,
  filter,
  from,
  ignoreElements,
  interval,
  Observable,
  ReplaySubject,
  takeUntil,
  tap,
  timer,
} from 'rxjs';
import { Repository } from 'typeorm';
import { ClaudeCliRunner, TurnEvent, TurnRequest } from 'src/claude-cli/claude-cli-runner.service';
import { TurnOutcome } from 'src/claude-cli/turn-outcome';
import { DomainError, ErrorCode } from 'src/common/errors/domain-error';
import { AppConfig } from 'src/config/app-config';
import { MAX_INT_COLUMN } from 'src/database/column-types';
import { isProcessGroupAlive, killProcessGroup } from 'src/process/process-group';
import { Session } from 'src/sessions/session.entity';
import {
  ContinueReason,
  Decision,
  PolicyPhase,
  TestSetupHint,
} from 'src/simulated-human/simulated-human.policy';
import { SimulatedHumanService } from 'src/simulated-human/simulated-human.service';
import {
  ClaimedTask,
  Lease,
  LeaseLostError,
  TaskQueueRepository,
} from 'src/tasks/orchestrator/task-queue.repository';
import {
  capText,
  eventInteraction,
  testRunInteraction,
  turnEndInteractions,
  TurnStorageBudget,
} from 'src/tasks/orchestrator/turn-interactions';
import { isTerminal, StatusReason, TaskPhase, TaskStatus } from 'src/tasks/task-status';
import { Task } from 'src/tasks/task.entity';
import {
  TestRunEvent,
  TestRunnerService,
  TestRunReport,
} from 'src/test-runner/test-runner.service';
import { ProjectSnapshot } from 'src/test-runner/test-file-finder';

/** Why a running task's pipeline was stopped from outside. */
export type StopSignal = 'cancel' | 'shutdown' | 'lease_lost';

/** The handle the orchestrator keeps per running task to stop its pipeline. */
export class TaskRunControl {
  private signal: StopSignal | null = null;
  private readonly stopped = new ReplaySubject<StopSignal>(1);
  readonly stopped$ = this.stopped.asObservable();

  /** The first signal wins; later ones are ignored. */
  stop(signal: StopSignal): void {
    if (this.signal !== null) return;
    this.signal = signal;
    this.stopped.next(signal);
  }

  get reason(): StopSignal | null {
    return this.signal;
  }
}

/** One step of a task's pipeline; `expand` turns each into the next. */
type Step =
  | {
      kind: 'turn';
      prompt: string;
      /** `prompt` for the task's own first or resume prompt, else the simulated human's. */
      source: 'task' | 'resume' | 'simulated_human';
      reason: ContinueReason | 'write_tests' | null;
      intervention: boolean;
      policyPhase: PolicyPhase;
      /** Status the task is in while the turn runs, and the reason when it changes to it. */
      status: TaskStatus;
      statusReason: StatusReason;
      /** Wait before the turn (after an API error), milliseconds. */
      delayMs?: number;
    }
  | { kind: 'tests'; policyPhase: PolicyPhase }
  | { kind: 'end' };

const END: Step = { kind: 'end' };
const MAX_LAST_MESSAGE_BYTES = 16 * 1024;
const MAX_SUMMARY_MESSAGE_CHARS = 2000;

function pauseReason(reason: ContinueReason, outcome: TurnOutcome | null): StatusReason {
  switch (reason) {
    case 'recover_error':
      return outcome?.kind === 'timeout' ? 'timeout' : 'agent_error';
    case 'permission_denied':
      return 'permission_denied';
    case 'test_feedback':
      return 'tests_failed';
    case 'answer_question':
    case 'continue_stop_short':
    case 'encourage':
      return 'needs_input';
  }
}

/** Status of a turn of the given policy phase: writing tests is part of TESTING. */
function turnStatus(phase: PolicyPhase): TaskStatus {
  return phase === 'writing_tests' ? TaskStatus.Testing : TaskStatus.Running;
}

/**
 * THE TASK LIFECYCLE. `TaskLifecycleRunner.run` turns one claimed task into one RxJS pipeline:
 *
 *   begin -> turn -> (simulated human decides) -> turn ... -> tests -> verdict
 *
 * expressed as `expand` over `Step`s: a turn step subscribes to `ClaudeCliRunner.runTurn`, stores
 * every event as it arrives (`concatMap`, so in order), and on `turn_end` asks the
 * SimulatedHuman for the next step; a tests step runs the generated tests, then the regression
 * command, through the TestRunner and either completes the task or feeds the failures back.
 *
 * - Status changes go through the transition table (TaskQueueRepository.transition), each with a
 *   machine-readable reason and a `status` interaction.
 * - Every write is fenced by the lease; a lost lease stops the pipeline without writing more.
 * - `control.stop(...)` (cancel, shutdown, lease lost) unsubscribes the running turn or test
 *   command, which ends its process group; the task then ends CANCELLED, goes back to PENDING
 *   (`shutdown`, resumable) or is left to its new owner. A background renewal keeps the lease.
 * - Any error is caught inside this task's pipeline: the task FAILS (`internal_error`, or
 *   `project_unavailable` when its directory is gone) and the orchestrator stream goes on.
 */
@Injectable()
export class TaskLifecycleRunner {
  private readonly logger = new Logger('TaskLifecycle');

  constructor(
    private readonly queue: TaskQueueRepository,
    private readonly cli: ClaudeCliRunner,
    private readonly human: SimulatedHumanService,
    private readonly tests: TestRunnerService,
    private readonly config: AppConfig,
    @InjectRepository(Session) private readonly sessions: Repository<Session>,
  ) {}

  /** Runs the claimed task to its end (or until stopped); completes, never errors. */
  run(claim: ClaimedTask, control: TaskRunControl): Observable<void> {
    return new Observable<void>((subscriber) => {
      const deps: LifecycleDeps = {
        queue: this.queue,
        cli: this.cli,
        human: this.human,
        tests: this.tests,
        config: this.config,
        sessions: this.sessions,
      };
      const run = new TaskRun(claim, control, deps, this.logger);
      // Renew every LEASE_SECONDS/3. A lease that could not be renewed for LEASE_SECONDS may
      // already belong to another server: stop the task (and its processes) rather than let two
      // agents work in one project.
      const leaseMs = this.config.LEASE_SECONDS * 1000;
      let renewedAt = Date.now();
      const renewal = interval(this.renewIntervalMs())
        .pipe(
          tap(() => {
            if (Date.now() - renewedAt >= leaseMs) control.stop('lease_lost');
          }),
          exhaustMap(() =>
            from(this.queue.renew(claim.lease)).pipe(
              tap(() => (renewedAt = Date.now())),
              catchError((error: unknown) => {
                if (error instanceof LeaseLostError) control.stop('lease_lost');
                else
                  this.logger.warn(`Task ${claim.task.id}: lease renewal failed: ${String(error)}`);
                return EMPTY;
              }),
            ),
          ),
        )
        .subscribe();
      const main = run.pipeline().subscribe({
        complete: () => subscriber.complete(),
        error: () => subscriber.complete(),
      });
      return () => {
        renewal.unsubscribe();
        main.unsubscribe();
      };
    });
  }

  private renewIntervalMs(): number {
    return Math.max(200, Math.floor((this.config.LEASE_SECONDS * 1000) / 3));
  }
}

interface LifecycleDeps {
  queue: TaskQueueRepository;
  cli: ClaudeCliRunner;
  human: SimulatedHumanService;
  tests: TestRunnerService;
  config: AppConfig;
  sessions: Repository<Session>;
}

/** The state of one task while this server runs it. */
class TaskRun {
  private readonly task: Task;
  private readonly lease: Lease;
  private status: TaskStatus;
  private iteration: number;
  private pauseCount: number;
  private costUsd: number;
  private inputTokens: number;
  private outputTokens: number;
  private lastAgentMessage: string | null;
  private turnsSinceEncouragement = 0;
  private consecutiveApiErrors = 0;
  /**
   * What the current conversation has cost so far (the CLI's totals are per conversation); the
   * task's `costUsd` also counts conversations it had to give up.
   */
  private conversationCostUsd: number;
  private turnStorage = new TurnStorageBudget();
  private encouragements = 0;
  private conversationId: string;
  private conversationStarted: boolean;
  private previousDeniedTools: string[] | undefined;
  private lastOutcome: TurnOutcome | null = null;
  private snapshot: ProjectSnapshot | null = null;
  private processGroup: number | null = null;
  /** The status write in flight, if any: `settle` waits for it before writing its own. */
  private statusWrite: Promise<unknown> = Promise.resolve();
  private session!: Session;
  private testSetup!: TestSetupHint;

  constructor(
    private readonly claim: ClaimedTask,
    private readonly control: TaskRunControl,
    private readonly d: LifecycleDeps,
    private readonly logger: Logger,
  ) {
    this.task = claim.task;
    this.lease = claim.lease;
    this.status = claim.task.status;
    this.iteration = claim.task.iteration;
    this.pauseCount = claim.task.pauseCount;
    this.costUsd = claim.task.costUsd;
    this.conversationCostUsd = claim.task.costUsd;
    this.inputTokens = claim.task.inputTokens;
    this.outputTokens = claim.task.outputTokens;
    this.lastAgentMessage = claim.task.lastAgentMessage;
    this.conversationStarted = claim.task.claudeSessionId !== null;
    this.conversationId = claim.task.claudeSessionId ?? randomUUID();
  }

  pipeline(): Observable<void> {
    const steps$ = defer(() => this.begin()).pipe(
      expand((step) => this.execute(step), 1),
      takeUntil(this.control.stopped$),
      ignoreElements(),
    );
    return concat(
      steps$,
      defer(() => this.settle()),
    ).pipe(
      ignoreElements(),
      catchError((error: unknown) => defer(() => this.onError(error)).pipe(ignoreElements())),
    );
  }

  // ---- steps ----

  private async begin(): Promise<Step> {
    const session = await this.d.sessions.findOneBy({ id: this.task.sessionId });
    if (!session) throw new Error(`Session ${this.task.sessionId} of the task no longer exists`);
    this.session = session;
    const setup = this.d.tests.describeTestSetup(this.task.projectPath, session.testCommand);
    this.testSetup = {
      framework: setup.framework,
      command: setup.command,
      conventions: setup.conventions,
    };
    const reason: StatusReason = this.claim.resumed ? 'resumed' : 'claimed';
    await this.d.queue.record(this.lease, {
      kind: 'status',
      iteration: this.iteration,
      content: `PENDING -> RUNNING (${reason})`,
      data: {
        from: TaskStatus.Pending,
        to: TaskStatus.Running,
        reason,
        attempt: this.lease.attempt,
        owner: this.lease.owner,
      },
    });
    this.logger.log(`Task ${this.task.id}: started (attempt ${this.lease.attempt})`);
    if (this.iteration >= this.task.maxIterations) {
      await this.fail(
        'max_iterations_reached',
        `All ${this.task.maxIterations} iterations were used before the server stopped.`,
      );
      return END;
    }
    const resume = this.claim.resumed && this.conversationStarted;
    return {
      kind: 'turn',
      prompt: resume
        ? this.d.human.resumePrompt(this.task.description)
        : this.d.human.firstTurnPrompt(this.task.description, this.task.projectPath),
      source: resume ? 'resume' : 'task',
      reason: null,
      intervention: false,
      policyPhase: 'work',
      status: TaskStatus.Running,
      statusReason: 'agent_turn',
    };
  }

  private execute(step: Step): Observable<Step> {
    switch (step.kind) {
      case 'turn':
        return this.turn(step);
      case 'tests':
        return this.runTests(step.policyPhase);
      case 'end':
        return EMPTY;
    }
  }

  // ---- agent turns ----

  private turn(step: Extract<Step, { kind: 'turn' }>): Observable<Step> {
    // A timer, not a sleep inside the async block: a cancel or a lost lease unsubscribes and
    // nothing of the turn runs.
    return timer(step.delayMs ?? 0).pipe(
      concatMap(() => this.startTurn(step)),
      concatMap((request) => this.d.cli.runTurn(request)),
      concatMap((event) => from(this.onTurnEvent(event, step))),
      filter((next): next is Step => next !== null),
    );
  }

  private startTurn(step: Extract<Step, { kind: 'turn' }>): Observable<TurnRequest> {
    return defer(async () => {
      this.iteration += 1;
      this.turnStorage = new TurnStorageBudget();
      await this.d.queue.record(this.lease, {
        kind: step.source === 'simulated_human' ? 'simulated_human' : 'prompt',
        iteration: this.iteration,
        content: capText(step.prompt),
        data: {
          source: step.source,
          reason: step.reason,
          intervention: step.intervention,
          new_conversation: !this.conversationStarted,
          ...(step.delayMs ? { waited_ms: step.delayMs } : {}),
        },
      });
      const phase: TaskPhase =
        step.policyPhase === 'writing_tests' ? 'writing_tests' : 'agent_turn';
      await this.moveTo(step.status, step.statusReason, { iteration: this.iteration, phase });
      return {
        cwd: this.task.projectPath,
        prompt: step.prompt,
        conversationId: this.conversationId,
        resume: this.conversationStarted,
        priorConversationCostUsd: this.conversationCostUsd,
      };
    });
  }

  private async onTurnEvent(
    event: TurnEvent,
    step: Extract<Step, { kind: 'turn' }>,
  ): Promise<Step | null> {
    if (event.type === 'spawned') {
      this.processGroup = event.pid;
      await this.d.queue.update(this.lease, { processGroupId: event.pid });
      return null;
    }
    if (event.type === 'turn_end') return this.onTurnEnd(event.outcome, step);
    if ((event.type === 'init' || event.type === 'result') && !this.conversationStarted) {
      this.conversationStarted = true;
      await this.d.queue.update(this.lease, { claudeSessionId: this.conversationId });
    }
    const interaction = eventInteraction(event, this.iteration);
    if (interaction && this.turnStorage.admit(interaction)) {
      await this.d.queue.record(this.lease, interaction);
    }
    if (event.type === 'assistant_text' && event.text.trim() !== '') {
      this.lastAgentMessage = capText(event.text, MAX_LAST_MESSAGE_BYTES);
      await this.d.queue.update(this.lease, { lastAgentMessage: this.lastAgentMessage });
    }
    return null;
  }

  private async onTurnEnd(
    outcome: TurnOutcome,
    step: Extract<Step, { kind: 'turn' }>,
  ): Promise<Step> {
    this.processGroup = null;
    this.lastOutcome = outcome;
    this.consecutiveApiErrors = outcome.kind === 'api_error' ? this.consecutiveApiErrors + 1 : 0;
    this.costUsd += Math.max(0, outcome.turnCostUsd);
    this.conversationCostUsd = outcome.conversationCostUsd;
    this.inputTokens = Math.min(MAX_INT_COLUMN, this.inputTokens + outcome.inputTokens);
    this.outputTokens = Math.min(MAX_INT_COLUMN, this.outputTokens + outcome.outputTokens);
    if (outcome.text && (outcome.kind === 'success' || outcome.kind === 'needs_input')) {
      this.lastAgentMessage = capText(outcome.text, MAX_LAST_MESSAGE_BYTES);
    }
    const omitted = this.turnStorage.omitted(this.iteration);
    if (omitted) await this.d.queue.record(this.lease, omitted);
    for (const interaction of turnEndInteractions(outcome, this.iteration)) {
      await this.d.queue.record(this.lease, interaction);
    }
    await this.d.queue.update(this.lease, {
      costUsd: this.costUsd,
      inputTokens: this.inputTokens,
      outputTokens: this.outputTokens,
      lastAgentMessage: this.lastAgentMessage,
      processGroupId: null,
      phase: 'simulated_human',
    });
    this.turnsSinceEncouragement += 1;
    const decision = this.d.human.decide({
      outcome,
      phase: step.policyPhase,
      iteration: this.iteration,
      maxIterations: this.task.maxIterations,
      pauseCount: this.pauseCount,
      maxPauses: this.task.maxPauses,
      turnsSinceEncouragement: this.turnsSinceEncouragement,
      taskDescription: this.task.description,
      testSetup: this.testSetup,
      previousDeniedTools: this.previousDeniedTools,
      encouragementSeed: this.d.human.encouragementSeed(this.task.id, this.encouragements),
      conversationStarted: this.conversationStarted,
      projectPath: this.task.projectPath,
    });
    this.previousDeniedTools =
      outcome.permissionDenials.length > 0
        ? outcome.permissionDenials.map((d) => d.toolName)
        : undefined;
    return this.apply(decision, step.policyPhase);
  }

  /** Carries out the simulated human's decision; returns the next step. */
  private async apply(decision: Decision, phase: PolicyPhase): Promise<Step> {
    switch (decision.action) {
      case 'fail':
        await this.fail(decision.reason, decision.message);
        return END;
      case 'run_tests':
        return { kind: 'tests', policyPhase: phase };
      case 'write_tests':
        this.snapshot = await this.d.tests.snapshot(this.task.projectPath);
        return {
          kind: 'turn',
          prompt: decision.prompt,
          source: 'simulated_human',
          reason: 'write_tests',
          intervention: false,
          policyPhase: 'writing_tests',
          status: TaskStatus.Testing,
          statusReason: 'tests_requested',
        };
      case 'continue': {
        if (decision.encouraged) {
          this.turnsSinceEncouragement = 0;
          this.encouragements += 1;
        }
        let nextPhase: PolicyPhase = decision.reason === 'test_feedback' ? 'fixing_tests' : phase;
        if (decision.newConversation) {
          // The agent starts over without memory of the task: a new id (the old one may be
          // taken or unknown to the CLI), and the work phase again.
          this.conversationStarted = false;
          this.conversationId = randomUUID();
          this.conversationCostUsd = 0;
          nextPhase = 'work';
          await this.d.queue.update(this.lease, { claudeSessionId: null });
        }
        if (decision.intervention) {
          this.pauseCount += 1;
          await this.moveTo(TaskStatus.Paused, pauseReason(decision.reason, this.lastOutcome), {
            pauseCount: this.pauseCount,
            phase: 'simulated_human',
          });
        }
        return {
          kind: 'turn',
          prompt: decision.prompt,
          source: 'simulated_human',
          reason: decision.reason,
          intervention: decision.intervention,
          policyPhase: nextPhase,
          status: turnStatus(nextPhase),
          statusReason: decision.reason === 'test_feedback' ? 'tests_failed' : 'agent_turn',
          delayMs: this.apiErrorDelayMs(),
        };
      }
    }
  }

  /** The wait before a turn after `consecutiveApiErrors` API errors in a row (0 after none). */
  private apiErrorDelayMs(): number {
    if (this.consecutiveApiErrors === 0) return 0;
    const { API_ERROR_RETRY_DELAY_SECONDS: base, API_ERROR_RETRY_MAX_DELAY_SECONDS: max } =
      this.d.config;
    const seconds = Math.min(max, base * 2 ** Math.min(this.consecutiveApiErrors - 1, 20));
    return seconds * 1000;
  }

  // ---- tests ----

  private runTests(phase: PolicyPhase): Observable<Step> {
    const reports: TestRunReport[] = [];
    const onEvent = (event: TestRunEvent): Promise<void> => this.onTestEvent(event, reports);
    const generated$ = defer(async () => {
      await this.moveTo(TaskStatus.Testing, 'tests_running', { phase: 'running_tests' });
      const before = this.snapshot ?? (await this.d.tests.snapshot(this.task.projectPath));
      return this.d.tests.changedTestFiles(this.task.projectPath, before);
    }).pipe(
      concatMap((files) =>
        this.d.tests.runGenerated(this.task.projectPath, files, this.session.testCommand),
      ),
      concatMap((event) => from(onEvent(event))),
    );
    const regressionCommand = this.session.regressionCommand;
    const regression$ =
      regressionCommand === null || regressionCommand.trim() === ''
        ? EMPTY
        : defer(() => from(this.d.queue.update(this.lease, { phase: 'running_regression' }))).pipe(
            concatMap(() => this.d.tests.runRegression(this.task.projectPath, regressionCommand)),
            concatMap((event) => from(onEvent(event))),
          );
    return concat(generated$, regression$).pipe(ignoreElements(), (done$) =>
      concat(
        done$,
        defer(() => this.verdict(reports, phase)),
      ),
    );
  }

  private async onTestEvent(event: TestRunEvent, reports: TestRunReport[]): Promise<void> {
    if (event.type === 'spawned') {
      this.processGroup = event.pid;
      await this.d.queue.update(this.lease, { processGroupId: event.pid });
      return;
    }
    // Background processes a test command left behind are ended (asynchronously) once it exits;
    // wait for them, so nothing of this task outlives its step.
    await this.endProcesses();
    const report = event.report;
    reports.push(report);
    await this.d.queue.record(this.lease, testRunInteraction(report, this.iteration));
    await this.d.queue.recordTestCases(
      this.lease,
      report.cases.map((c) => ({ ...c, iteration: this.iteration, kind: report.kind })),
    );
    await this.d.queue.update(this.lease, { processGroupId: null });
  }

  private async verdict(reports: readonly TestRunReport[], phase: PolicyPhase): Promise<Step> {
    const summary = this.d.human.summarizeTests(reports);
    const passed = reports.flatMap((r) => r.cases).filter((c) => c.status === 'passed').length;
    // A run that failed without any test case (no test files, a crash, a timeout) counts as one
    // failed test, so the counters never read "0 failed" for failing tests.
    const counts = { testsPassed: passed, testsFailed: summary.failed, testsTotal: summary.total };
    await this.d.queue.update(this.lease, counts);
    if (reports.length > 0 && reports.every((r) => r.passed)) {
      await this.finish(TaskStatus.Completed, 'tests_passed', {
        ...counts,
        resultSummary: this.summary(reports),
      });
      return END;
    }
    if (this.lastOutcome === null) throw new Error('Tests ran before any agent turn');
    const decision = this.d.human.decide({
      outcome: this.lastOutcome,
      phase,
      iteration: this.iteration,
      maxIterations: this.task.maxIterations,
      pauseCount: this.pauseCount,
      maxPauses: this.task.maxPauses,
      turnsSinceEncouragement: this.turnsSinceEncouragement,
      testReport: summary,
      taskDescription: this.task.description,
      testSetup: this.testSetup,
      encouragementSeed: this.d.human.encouragementSeed(this.task.id, this.encouragements),
    });
    return this.apply(decision, phase);
  }

  /** What was verified, for `result_summary`. */
  private summary(reports: readonly TestRunReport[]): string {
    const lines = reports.map((r) => {
      const files = [...new Set(r.cases.map((c) => c.filePath).filter((f) => f !== null))];
      const where = r.kind === 'generated' && files.length > 0 ? ` in ${files.join(', ')}` : '';
      return `- ${r.kind} tests passed: ${r.cases.length} case(s)${where} (\`${r.command.join(' ')}\`, ${r.durationMs} ms)`;
    });
    const message = this.lastAgentMessage
      ? `\n\nAgent's last message:\n${this.lastAgentMessage.slice(0, MAX_SUMMARY_MESSAGE_CHARS)}`
      : '';
    return `Completed after ${this.iteration} agent turn(s). Verified:\n${lines.join('\n')}${message}`;
  }

  // ---- status changes ----

  private async moveTo(
    to: TaskStatus,
    reason: StatusReason,
    patch: Parameters<TaskQueueRepository['update']>[1],
  ): Promise<void> {
    if (to === this.status) {
      await this.d.queue.update(this.lease, { ...patch, statusReason: reason });
      return;
    }
    await this.track(
      this.d.queue.transition(
        this.lease,
        { from: this.status, to, reason, iteration: this.iteration },
        patch,
      ),
    );
    this.status = to;
  }

  private fail(reason: StatusReason, message: string): Promise<void> {
    return this.finish(TaskStatus.Failed, reason, { errorMessage: capText(message, 16 * 1024) });
  }

  private async finish(
    to: TaskStatus,
    reason: StatusReason,
    patch: Parameters<TaskQueueRepository['update']>[1] = {},
  ): Promise<void> {
    const phase: TaskPhase = to === TaskStatus.Pending ? 'queued' : 'done';
    await this.track(
      this.d.queue.finish(
        this.lease,
        { from: this.status, to, reason, iteration: this.iteration },
        { ...patch, phase },
      ),
    );
    this.status = to;
    this.logger.log(`Task ${this.task.id}: ${to} (${reason})`);
  }

  /** Runs a status write, remembering it until it settles (and `this.status` is updated). */
  private track(write: Promise<void>): Promise<void> {
    const settled = write.then(
      () => undefined,
      () => undefined,
    );
    this.statusWrite = settled;
    return write;
  }

  // ---- stopping ----

  /** After the steps end: act on an outside stop signal, if there was one. */
  private async settle(): Promise<void> {
    const signal = this.control.reason;
    if (signal === null) return;
    const interrupted = this.processGroup !== null;
    await this.endProcesses();
    // A status write cut off by the stop may still land; act on the status it leaves.
    await this.statusWrite;
    await Promise.resolve();
    if (isTerminal(this.status)) return;
    if (interrupted && signal !== 'lease_lost') {
      await this.d.queue.record(this.lease, {
        kind: 'system',
        iteration: this.iteration,
        content:
          signal === 'cancel'
            ? 'The running agent turn or test command was stopped: the task was cancelled.'
            : 'The running agent turn or test command was stopped: the server is shutting down.',
        data: { type: 'interrupted', signal },
      });
    }
    if (signal === 'cancel') {
      await this.finish(TaskStatus.Cancelled, 'cancelled', {
        errorMessage: 'Cancelled on request.',
      });
    } else if (signal === 'shutdown') {
      await this.finish(TaskStatus.Pending, 'shutdown');
    } else {
      this.logger.warn(`Task ${this.task.id}: lease lost; another server owns it now`);
    }
  }

  private async onError(error: unknown): Promise<void> {
    await this.endProcesses();
    if (error instanceof LeaseLostError) {
      this.logger.warn(`Task ${this.task.id}: lease lost; stopped without further writes`);
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    const reason: StatusReason =
      error instanceof DomainError && error.code === ErrorCode.ProjectPathInvalid
        ? 'project_unavailable'
        : 'internal_error';
    this.logger.error(`Task ${this.task.id}: ${reason}: ${message}`);
    try {
      await this.d.queue.record(this.lease, {
        kind: 'error',
        iteration: this.iteration,
        content: capText(message, 16 * 1024),
        data: { reason },
      });
      await this.fail(reason, message);
    } catch (writeError) {
      this.logger.error(
        `Task ${this.task.id}: could not store the failure (${String(writeError)}); the lease sweep will take it over`,
      );
    }
  }

  /** Waits for the running process group (if any) to be gone, ending it if it lingers. */
  private async endProcesses(): Promise<void> {
    const pgid = this.processGroup;
    if (pgid === null) return;
    const graceMs = this.d.config.KILL_GRACE_SECONDS * 1000;
    const deadline = Date.now() + 2 * graceMs + 2000;
    while (isProcessGroupAlive(pgid) && Date.now() < deadline) await sleep(50);
    if (isProcessGroupAlive(pgid)) await killProcessGroup(pgid, graceMs);
    this.processGroup = null;
  }
}
