import {
  catchError,
  concat,
  concatMap,
  defer,
  EMPTY,
  exhaustMap,
  expand,
  finalize,
  from,
  ignoreElements,
  map,
  Observable,
  takeUntil,
} from 'rxjs';
import { TurnOutcome } from 'src/claude-cli';
import { databaseFailureOf } from 'src/database';
import { WorkingDirectoryGoneError } from 'src/process';
import { Decision, PolicyInput, PolicyPhase } from 'src/simulated-human';
import {
  HumanWait,
  isTerminal,
  LateMessageError,
  LeaseLostError,
  MAX_UNDELIVERED_MESSAGES,
  StatusReason,
  TaskPatch,
  TaskStatus,
  undeliveredMessagesRecord,
} from 'src/tasks';
import { CommandResult, TestRunReport } from 'src/test-runner';
import {
  GitCommandError,
  GitConfigChangedError,
  WorkspaceError,
  WorkspaceMissingError,
} from 'src/workspaces';
import { AgentTurn } from 'src/orchestrator/run/agent-turn';
import { CostBudget } from 'src/orchestrator/run/cost-budget';
import { OwnerKeyMoment, ownerKeyEnd, OwnerKeyRefusal } from 'src/orchestrator/run/owner-key';
import { ProcessTracker } from 'src/orchestrator/run/process-tracker';
import { TaskRunControl } from 'src/orchestrator/run/run-control';
import { RunPorts } from 'src/orchestrator/run/run-ports';
import { RunContext, RunState } from 'src/orchestrator/run/run-state';
import { RunStatus, StatusWriter } from 'src/orchestrator/run/run-status';
import {
  END,
  followUpReason,
  pauseReason,
  SetupStep,
  Step,
  TestsStep,
  TurnStep,
  turnStatus,
} from 'src/orchestrator/run/run-steps';
import { RunWorkspace } from 'src/orchestrator/run/run-workspace';
import { TestSetupHint } from 'src/simulated-human';
import { TestPhase } from 'src/orchestrator/run/test-phase';
import { capText, isAnsweredTurn } from 'src/orchestrator/run/turn-records';
import {
  completionSummary,
  judgeTestRound,
  TestRoundVerdict,
  unstartableTestCommand,
} from 'src/orchestrator/run/verdict';
import { Judgement, Verification } from 'src/orchestrator/run/verification';
import { WaitForHuman } from 'src/orchestrator/run/wait-for-human';

/** Where a run logs what happens to its task (Nest's Logger fits). */
export interface RunLogger {
  log(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Stands in for the last turn's outcome when a resumed run's first step is a test round. */
const NO_TURN_YET: TurnOutcome = {
  kind: 'success',
  text: null,
  permissionDenials: [],
  conversationCostUsd: 0,
  turnCostUsd: 0,
  inputTokens: 0,
  outputTokens: 0,
  numTurns: null,
  durationMs: null,
  exitCode: null,
  stderrTail: '',
  sessionId: null,
};

/** Longest error message stored on a failed task. */
const MAX_ERROR_MESSAGE_BYTES = 16 * 1024;

/**
 * THE STEP MACHINE OF ONE TASK RUN. `pipeline()` is the task's lifecycle as one RxJS pipeline:
 *
 *   begin -> turn -> (simulated human decides) -> turn ... -> test round -> verdict
 *
 * expressed as `expand` over `Step`s (`run-steps.ts`): a turn step runs an `AgentTurn` and asks
 * the simulated human what comes next; a tests step runs a `TestPhase` round and judges it
 * (`verdict.ts`): COMPLETED, or the failures go back to the agent. Each idea lives in its own
 * file: cost and tokens (`run-accounting.ts`) and the budget they are held to (`cost-budget.ts`),
 * the conversation and its replacement (`conversation.ts`), the wait after API errors
 * (`api-error-backoff.ts`), what is stored for a resume (`run-state.ts`), status changes
 * (`run-status.ts`), the task's workspace (`run-workspace.ts`: prepared before the first step,
 * its setup command a step of its own, committed at the end), waiting for a person instead of the
 * simulated human's reply (`wait-for-human.ts`: the run ends, the task PAUSED without an owner,
 * and a later run resumes it). The outside world is reached only through `RunPorts`.
 *
 * - `control.stop(...)` (cancel, shutdown, lease lost) unsubscribes the running step, which ends
 *   its process group; `settle` then waits for the group to be gone and the task ends CANCELLED,
 *   goes back to PENDING (`shutdown`, resumable) or is left to its new owner (`lease_lost`).
 * - Before anything runs, the task's owner key is asked whether it still lets the task run
 *   (`ports.ownerKey`, `owner-key.ts`), and again before each step that starts a process (an
 *   agent turn, a test round, the setup command, the baseline): a key revoked or expired ends the
 *   task CANCELLED (`owner_key_revoked`, `owner_key_expired`) there. A cancel that stops the run
 *   while its key is so ends it with that reason too (the key's revocation cancels its tasks).
 * - Before anything runs, the session's project directory is held to the project_path rules as
 *   they are now (`ports.project`): one that breaks a rule (added since the session was stored,
 *   or the directory changed since) fails the task `project_path_refused`, no workspace made, no
 *   process started.
 * - Every error is caught inside this pipeline: the task FAILS (`internal_error`,
 *   `project_unavailable` when its directory is gone, `workspace_error` when git could not
 *   create or commit its workspace, `workspace_missing` when a resumed task's workspace and
 *   branch are both missing on this server (it worked on another machine),
 *   `git_config_changed` when the repository's git configuration, hooks or `info/` files
 *   changed since its workspace was ready for the agent (the user's own upstreams, remotes and
 *   `user.*` aside): nothing is committed through them, and its work
 *   stays uncommitted in the workspace); a lost lease stops it without writing more (its new
 *   owner has it), a database that stays unavailable through the event log's retries stops it and puts
 *   it back in the queue once the database takes writes again (`database_unavailable`; should that
 *   fail too, or the database be full, the lease sweep takes it back once its lease ran out).
 * - A task that ends FAILED or CANCELLED keeps its uncommitted work as a commit on its branch; a
 *   COMPLETED one's change is committed there (`head_commit`). A shutdown leaves the workspace
 *   as it is, for the task to resume in.
 */
export class TaskRun {
  private readonly state: RunState;
  private readonly status: RunStatus;
  private readonly tracker: ProcessTracker;
  private readonly turn: AgentTurn;
  private readonly testPhase: TestPhase;
  private readonly workspace: RunWorkspace;
  private readonly verification: Verification;
  private readonly waitForHuman: WaitForHuman;
  private testSetup: TestSetupHint | null = null;
  private readonly budget: CostBudget;

  constructor(
    private readonly ctx: RunContext,
    private readonly ports: RunPorts,
    private readonly control: TaskRunControl,
    private readonly logger: RunLogger,
  ) {
    const task = ctx.task;
    this.state = new RunState(task, ctx.settings);
    this.state.processesMayRemain = ctx.resumed;
    this.budget = new CostBudget(task.maxCostUsd ?? null);
    this.status = new RunStatus(this.state, ports.log);
    this.tracker = new ProcessTracker(
      ports.log,
      ports.processes,
      ports.clock,
      ctx.settings.killGraceMs,
    );
    this.workspace = new RunWorkspace(ctx, ports, this.state, this.tracker);
    this.turn = new AgentTurn(ports, this.state, this.status, this.tracker, this.workspace);
    this.testPhase = new TestPhase(
      ctx,
      ports,
      this.state,
      this.status,
      this.tracker,
      this.workspace,
    );
    this.verification = new Verification(
      ctx,
      ports,
      this.testPhase,
      this.workspace,
      this.state.writtenFiles,
    );
    this.waitForHuman = new WaitForHuman(ctx, ports, this.state, this.status);
  }

  /** How tests are run in the directory the agent works in (read once it is prepared). */
  private get testSetupHint(): TestSetupHint {
    if (this.testSetup === null) {
      const setup = this.ports.tests.describeTestSetup(
        this.workspace.directory,
        this.ctx.testCommand,
      );
      this.testSetup = {
        framework: setup.framework,
        command: setup.command,
        conventions: setup.conventions,
      };
    }
    return this.testSetup;
  }

  private get taskId(): string {
    return this.ctx.task.id;
  }

  /**
   * Runs the task to its end (or until stopped); completes, never errors. Meanwhile a request to
   * interrupt (`TaskRunControl.interrupt`) goes to the agent turn under way, if any.
   */
  pipeline(): Observable<void> {
    const steps$ = defer(() => this.begin()).pipe(
      expand((step) => this.execute(step), 1),
      takeUntil(this.control.stopped$),
      ignoreElements(),
    );
    return defer(() => {
      const interrupts = this.control.interrupt$
        .pipe(exhaustMap(() => from(this.interruptTurn())))
        .subscribe();
      return concat(
        steps$,
        defer(() => this.settle()),
      ).pipe(
        ignoreElements(),
        catchError((error: unknown) => defer(() => this.onError(error)).pipe(ignoreElements())),
        finalize(() => interrupts.unsubscribe()),
      );
    });
  }

  private async interruptTurn(): Promise<void> {
    try {
      await this.turn.interrupt();
    } catch (error) {
      this.logger.warn(`Task ${this.taskId}: interrupting its turn failed: ${String(error)}`);
    }
  }

  // ---- steps ----

  private async begin(): Promise<Step> {
    const { task } = this.ctx;
    this.logger.log(`Task ${this.taskId}: started (attempt ${task.attempt})`);
    const keyRefusal = await this.ports.ownerKey.refusal();
    if (keyRefusal !== null) {
      await this.endForOwnerKey(keyRefusal, 'start');
      return END;
    }
    const refusal = this.ports.project.refusal();
    if (refusal !== null) {
      await this.fail('project_path_refused', `${refusal}. The task was not run.`);
      return END;
    }
    await this.workspace.prepare();
    if (this.state.iteration >= task.maxIterations) {
      await this.fail(
        'max_iterations_reached',
        `All ${task.maxIterations} iterations were used before the server stopped.`,
      );
      return END;
    }
    const overBudget = this.budget.exceeded(this.state.accounting.totalCostUsd);
    if (overBudget !== null) {
      await this.fail('budget_exceeded', overBudget);
      return END;
    }
    const waited = task.humanWait;
    if (waited !== null) return this.afterWait(waited);
    const first = this.withBaseline(this.firstStep());
    return this.workspace.needsSetup ? { kind: 'setup', next: first } : first;
  }

  /** The first step of a run that waited for a person: their answer, or the held reply. */
  private async afterWait(wait: HumanWait): Promise<Step> {
    const step = await this.waitForHuman.resumeStep(wait);
    if (step !== null) return step;
    await this.fail(
      'max_pauses_reached',
      `Nobody answered the agent in time, and the simulated human's reply would be an intervention beyond the ${this.ctx.task.maxPauses} allowed.`,
    );
    return END;
  }

  /** The first step of the agent's work: a new task's first turn, or where a resumed one was. */
  private firstStep(): Step {
    const { task, resumed } = this.ctx;
    if (resumed && this.state.conversation.started) {
      if (this.state.phase === 'running_tests' && this.state.testFiles.length > 0) {
        return { kind: 'tests', files: this.state.testFiles };
      }
      const phase = this.resumePhase();
      return this.turnStep({
        prompt: this.ports.human.resumePrompt(task.description, { phase }),
        source: 'resume',
        phase,
      });
    }
    return this.turnStep({
      prompt: this.ports.human.firstTurnPrompt(task.description, this.workspace.directory),
      source: 'task',
      phase: 'work',
    });
  }

  /** Before the agent's first turn (not after a resume into its work): the regression baseline. */
  private withBaseline(first: Step): Step {
    const fresh = !(this.ctx.resumed && this.state.conversation.started);
    return fresh && this.verification.needsBaseline ? { kind: 'baseline', next: first } : first;
  }

  private resumePhase(): PolicyPhase {
    if (this.state.phase !== 'running_tests') return this.state.phase;
    return this.state.testFiles.length > 0 ? 'fixing_tests' : 'writing_tests';
  }

  private turnStep(step: Pick<TurnStep, 'prompt' | 'source' | 'phase'>): TurnStep {
    return {
      ...step,
      kind: 'turn',
      reason: null,
      intervention: false,
      status: turnStatus(step.phase),
      statusReason: 'agent_turn',
      delayMs: 0,
    };
  }

  /** Runs `step`, unless the task's owner key no longer lets it run: then the task ends there. */
  private execute(step: Step): Observable<Step> {
    if (step.kind === 'end') return EMPTY;
    return defer(() => this.ports.ownerKey.refusal()).pipe(
      concatMap((refusal) =>
        refusal === null
          ? this.executeStep(step)
          : from(this.endForOwnerKey(refusal, 'step').then(() => END)),
      ),
    );
  }

  private executeStep(step: Step): Observable<Step> {
    switch (step.kind) {
      case 'turn':
        return defer(() => this.withTestSnapshot(step)).pipe(
          concatMap((turnStep) => this.turn.run(turnStep)),
          concatMap((outcome) => from(this.afterTurn(step, outcome))),
        );
      case 'tests':
        return this.runTests(step);
      case 'setup':
        return this.workspace
          .setup()
          .pipe(concatMap((result) => from(this.afterSetup(step, result))));
      case 'baseline':
        return this.verification.baseline().pipe(
          concatMap(() => from(this.workspace.fingerprintAgain())),
          map(() => step.next),
        );
      case 'end':
        return EMPTY;
    }
  }

  /** The turn's step, with the test snapshot in its write when this is the task's first turn. */
  private async withTestSnapshot(step: TurnStep): Promise<TurnStep> {
    const snapshot = await this.testPhase.snapshotOnce();
    return { ...step, patch: { ...step.patch, ...snapshot } };
  }

  private async afterSetup(step: SetupStep, result: CommandResult): Promise<Step> {
    const verdict = RunWorkspace.verdict(result);
    if (verdict.passed) return step.next;
    await this.fail('setup_failed', verdict.message);
    return END;
  }

  private async afterTurn(step: TurnStep, outcome: TurnOutcome): Promise<Step> {
    const { state } = this;
    const overBudget = this.budget.exceeded(state.accounting.totalCostUsd);
    if (overBudget !== null) {
      await this.fail('budget_exceeded', overBudget);
      return END;
    }
    state.turnsSinceEncouragement += 1;
    const testFilesFound =
      step.phase !== 'work' && isAnsweredTurn(outcome)
        ? (await this.testPhase.findTestFiles()).length
        : undefined;
    const decision = this.ports.human.decide({
      ...this.policyInput(step.phase, outcome),
      personAnswers: await this.waitForHuman.personAnswers(),
      interrupted: this.turn.takeInterrupted(),
      previousDeniedTools: state.previousDeniedTools,
      conversationStarted: state.conversation.started,
      projectPath: this.workspace.directory,
      testFilesFound,
      emptyTestTurns: state.emptyTestTurns,
      apiErrorStreak: state.backoff.streak,
    });
    if (testFilesFound !== undefined && testFilesFound > 0) state.emptyTestTurns = 0;
    if (decision.action === 'continue' && decision.reason === 'no_tests') {
      state.emptyTestTurns += 1;
    }
    state.previousDeniedTools =
      outcome.permissionDenials.length > 0
        ? outcome.permissionDenials.map((d) => d.toolName)
        : undefined;
    return this.apply(decision, step.phase);
  }

  private runTests(step: TestsStep): Observable<Step> {
    return this.testPhase.run(step.files).pipe(
      concatMap((reports) => {
        const unstartable = unstartableTestCommand(reports, this.workspace.directory);
        if (unstartable !== null) return from(this.testCommandUnavailable(unstartable));
        return this.verification
          .judge(reports, step.files)
          .pipe(concatMap((judgement) => from(this.afterTests(reports, judgement))));
      }),
    );
  }

  /** The test command cannot start: the session's to fix, not the agent's (no turn is spent). */
  private async testCommandUnavailable(unstartable: {
    command: string;
    error: string;
  }): Promise<Step> {
    await this.fail(
      'test_command_unavailable',
      `The test command could not start (${unstartable.command}: ${unstartable.error}): its program is not there where the tests run. Fix the session's test_command, or install the tool with its setup_command; no agent turn can.`,
    );
    return END;
  }

  private async afterTests(reports: readonly TestRunReport[], verified: Judgement): Promise<Step> {
    let judgement = verified;
    const verdict = judgeTestRound(reports);
    if (judgement.kind === 'completed' && this.turnLeft() && (await this.interruptWaits())) {
      // A person stepped in while the round ran: the agent hears them before anything completes.
      // With no turn left to hear them in, the verified round completes the task, and the message
      // is listed as undelivered, as one sent without `interrupt`.
      await this.ports.log.update(verdict.counts);
      const decision = this.ports.human.decide({
        ...this.policyInput('work', this.state.lastOutcome ?? NO_TURN_YET),
        interrupted: true,
        conversationStarted: this.state.conversation.started,
      });
      return this.apply(decision, 'work');
    }
    if (judgement.kind === 'completed') {
      const committed = await this.workspace.commitResult(
        `COMPLETED (${judgement.reason}) after ${this.state.iteration} agent turn(s).`,
      );
      if (!('changedSinceTested' in committed)) {
        await this.complete(reports, judgement.reason, verdict, committed);
        return END;
      }
      // The commit would not hold what the tests ran against: back to the agent.
      judgement = await this.verification.changedAfterTests(committed.changedSinceTested);
    }
    if (judgement.report.testChanges) this.state.testChangeRefusals += 1;
    const { testChangeRefusals } = this.state;
    await this.ports.log.update({ ...verdict.counts, testChangeRefusals });
    const decision = this.ports.human.decide({
      ...this.policyInput('fixing_tests', this.state.lastOutcome ?? NO_TURN_YET),
      testReport: judgement.report,
      testChangeRefusals,
    });
    return this.apply(decision, 'fixing_tests');
  }

  /** Ends the task COMPLETED, its change committed (`committed`: `head_commit`). */
  private async complete(
    reports: readonly TestRunReport[],
    reason: StatusReason,
    verdict: TestRoundVerdict,
    committed: TaskPatch,
  ): Promise<void> {
    await this.end(TaskStatus.Completed, reason, {
      ...verdict.counts,
      ...this.state.checkpoint(),
      ...committed,
      ...this.verification.completed(
        typeof committed.headCommit === 'string' ? committed.headCommit : null,
      ),
      resultSummary: completionSummary(reports, this.state.iteration, this.state.lastAgentMessage),
    });
    this.logger.log(`Task ${this.taskId}: COMPLETED (${reason})`);
  }

  private policyInput(phase: PolicyPhase, outcome: TurnOutcome): PolicyInput {
    const { state } = this;
    const { task } = this.ctx;
    return {
      outcome,
      phase,
      iteration: state.iteration,
      maxIterations: task.maxIterations,
      pauseCount: state.pauseCount,
      maxPauses: task.maxPauses,
      turnsSinceEncouragement: state.turnsSinceEncouragement,
      taskDescription: task.description,
      testSetup: this.testSetupHint,
      encouragementSeed: this.ports.human.encouragementSeed(task.id, state.encouragements),
    };
  }

  /** Carries out the simulated human's decision; returns the next step. */
  private async apply(decision: Decision, phase: PolicyPhase): Promise<Step> {
    const { state } = this;
    switch (decision.action) {
      case 'fail':
        await this.fail(decision.reason, decision.message);
        return END;
      case 'run_tests':
        return { kind: 'tests', files: state.testFiles };
      case 'write_tests':
        return {
          patch: this.testPhase.testsRequested(),
          kind: 'turn',
          prompt: decision.prompt,
          source: 'simulated_human',
          reason: 'write_tests',
          intervention: false,
          phase: 'writing_tests',
          status: TaskStatus.Testing,
          statusReason: 'tests_requested',
          delayMs: 0,
        };
      case 'continue': {
        const personReply = await this.waitForHuman.replyFor(decision, phase);
        if (personReply !== null) return personReply;
        if (decision.encouraged) {
          state.turnsSinceEncouragement = 0;
          state.encouragements += 1;
        }
        let nextPhase: PolicyPhase = decision.reason === 'test_feedback' ? 'fixing_tests' : phase;
        if (decision.newConversation) {
          // The agent starts over without memory of the task: a new id (the old one may be
          // taken or unknown to the CLI), and the work phase again.
          state.conversation.replace();
          state.accounting.newConversation();
          nextPhase = 'work';
          await this.ports.log.update({ claudeSessionId: null, ...state.checkpoint() });
        }
        if (decision.intervention) {
          state.pauseCount += 1;
          await this.status.moveTo(
            TaskStatus.Paused,
            pauseReason(decision.reason, state.lastOutcome),
            {
              pauseCount: state.pauseCount,
              phase: 'simulated_human',
            },
          );
        }
        return {
          kind: 'turn',
          prompt: decision.prompt,
          source: 'simulated_human',
          reason: decision.reason,
          intervention: decision.intervention,
          phase: nextPhase,
          status: turnStatus(nextPhase),
          statusReason: followUpReason(decision.reason),
          delayMs: state.backoff.delayMs(),
        };
      }
    }
  }

  private async fail(
    reason: StatusReason,
    message: string,
    by: StatusWriter = 'step',
  ): Promise<void> {
    const kept = await this.keepWork(TaskStatus.Failed, reason);
    await this.end(
      TaskStatus.Failed,
      reason,
      {
        ...this.state.checkpoint(),
        ...kept,
        errorMessage: capText(message, MAX_ERROR_MESSAGE_BYTES),
      },
      by,
    );
    this.logger.log(`Task ${this.taskId}: FAILED (${reason})`);
  }

  /** Ends the task CANCELLED because its owner key was revoked or expired (`owner-key.ts`). */
  private async endForOwnerKey(
    refusal: OwnerKeyRefusal,
    moment: OwnerKeyMoment,
    by: StatusWriter = 'step',
  ): Promise<void> {
    const end = ownerKeyEnd(refusal, moment, this.state.iteration);
    await this.ports.log.append(end.record);
    const kept = await this.keepWork(TaskStatus.Cancelled, end.reason);
    await this.end(
      TaskStatus.Cancelled,
      end.reason,
      { ...this.state.checkpoint(), ...kept, errorMessage: end.message },
      by,
    );
    this.logger.log(`Task ${this.taskId}: CANCELLED (${end.reason})`);
  }

  /**
   * Why the owner key no longer lets the task run, for a cancel that stopped it; null when it
   * still does, or when the database cannot say now (the cancel then ends it as any cancel).
   */
  private async keyRefusalAtCancel(): Promise<OwnerKeyRefusal | null> {
    try {
      return await this.ports.ownerKey.refusal();
    } catch (error) {
      this.logger.warn(`Task ${this.taskId}: its owner key could not be read (${String(error)})`);
      return null;
    }
  }

  /** The task's `max_iterations` allow another agent turn. */
  private turnLeft(): boolean {
    return this.state.iteration < this.ctx.task.maxIterations;
  }

  /** A person's message sent with `interrupt` waits for a turn. */
  private async interruptWaits(): Promise<boolean> {
    return (await this.ports.messages.undelivered()).some((message) => message.interrupt);
  }

  /**
   * Ends the task `to` (a terminal status). The messages from a person that no turn took are said
   * in its history, before its end and in the same write, so that whoever sent them knows the
   * agent never read them. Until that write a message can still be stored (the task is not
   * finished yet), so the write is made only while none came after those read; when one did, the
   * messages are read again (at most MAX_UNDELIVERED_MESSAGES can wait, so this ends).
   */
  private async end(
    to: TaskStatus,
    reason: StatusReason,
    patch: TaskPatch,
    by: StatusWriter = 'step',
  ): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      const { messages, readThrough } = await this.ports.messages.waiting();
      const ids = messages.map((m) => m.id);
      const records =
        ids.length === 0 ? [] : [undeliveredMessagesRecord(ids, this.state.iteration)];
      try {
        await this.status.release(to, reason, patch, by, records, { noMessageAfter: readThrough });
        return;
      } catch (error) {
        if (!(error instanceof LateMessageError) || attempt > MAX_UNDELIVERED_MESSAGES) throw error;
      }
    }
  }

  /** A FAILED or CANCELLED task's uncommitted work, committed on its branch (throws only a lost lease). */
  private async keepWork(status: TaskStatus, reason: StatusReason): Promise<TaskPatch> {
    const { patch, error } = await this.workspace.keepWork(status, reason);
    if (error !== null) {
      this.logger.warn(
        `Task ${this.taskId}: its uncommitted work could not be committed (${error}); it stays in the workspace`,
      );
    }
    return patch;
  }

  // ---- stopping ----

  /** After the steps end: act on an outside stop signal, if there was one. */
  private async settle(): Promise<void> {
    const signal = this.control.reason;
    if (signal === null) return;
    // The step cut off may still run on (a commit finishing): its status changes are refused now.
    this.status.stopSteps();
    const interrupted = this.tracker.running;
    await this.tracker.settle();
    // A workspace being created when the stop came is recorded on the task before it is let go.
    await this.workspace.settled();
    // A status write cut off by the stop may still land; act on the status it leaves.
    await this.status.settled();
    if (isTerminal(this.state.status)) return;
    if (signal === 'lease_lost') {
      this.logger.warn(`Task ${this.taskId}: lease lost; another server owns it now`);
      return;
    }
    // A cancel while the owner key no longer lets the task run is the key's revocation (or the
    // key was revoked or expired meanwhile): the task ends for that.
    const keyRefusal = signal === 'cancel' ? await this.keyRefusalAtCancel() : null;
    if (interrupted) {
      await this.ports.log.append({
        kind: 'system',
        iteration: this.state.iteration,
        content:
          signal !== 'cancel'
            ? 'The running agent turn or test command was stopped: the server is shutting down.'
            : keyRefusal !== null
              ? `The running agent turn or test command was stopped: the API key that owns the task was ${keyRefusal}.`
              : 'The running agent turn or test command was stopped: the task was cancelled.',
        data: { type: 'interrupted', signal },
      });
    }
    if (keyRefusal !== null) {
      await this.endForOwnerKey(keyRefusal, 'stopped', 'run');
    } else if (signal === 'cancel') {
      const kept = await this.keepWork(TaskStatus.Cancelled, 'cancelled');
      await this.end(
        TaskStatus.Cancelled,
        'cancelled',
        { ...this.state.checkpoint(), ...kept, errorMessage: 'Cancelled on request.' },
        'run',
      );
      this.logger.log(`Task ${this.taskId}: CANCELLED`);
    } else {
      await this.status.release(TaskStatus.Pending, 'shutdown', this.state.checkpoint(), 'run');
    }
  }

  private async onError(error: unknown): Promise<void> {
    await this.tracker.settle();
    if (error instanceof LeaseLostError) {
      this.logger.warn(`Task ${this.taskId}: lease lost; stopped without further writes`);
      return;
    }
    const database = databaseFailureOf(error);
    if (database === 'full') {
      // Not the task's fault: it stays as it is and resumes once its lease ran out (a write
      // may get through a full disk while larger ones do not: no quick way back to the queue).
      this.logger.warn(
        `Task ${this.taskId}: the database stayed full (${String(error)}); stopped, to resume when its lease runs out`,
      );
      return;
    }
    if (database !== null) {
      this.logger.warn(
        `Task ${this.taskId}: the database stayed unavailable (${String(error)}); stopped, back to the queue once it takes writes again`,
      );
      await this.requeueAfterDatabaseFailure();
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    const reason: StatusReason =
      error instanceof WorkingDirectoryGoneError
        ? 'project_unavailable'
        : error instanceof GitConfigChangedError
          ? 'git_config_changed'
          : error instanceof WorkspaceMissingError
            ? 'workspace_missing'
            : error instanceof WorkspaceError || error instanceof GitCommandError
              ? 'workspace_error'
              : 'internal_error';
    this.logger.error(`Task ${this.taskId}: ${reason}: ${message}`);
    try {
      await this.status.settled();
      await this.ports.log.append({
        kind: 'error',
        iteration: this.state.iteration,
        content: capText(message, MAX_ERROR_MESSAGE_BYTES),
        data: {
          reason,
          ...(error instanceof GitConfigChangedError ? error.details() : {}),
        },
      });
      await this.fail(reason, message, 'run');
    } catch (writeError) {
      this.logger.error(
        `Task ${this.taskId}: could not store the failure (${String(writeError)}); the lease sweep will take it over`,
      );
    }
  }

  /**
   * Not the task's fault: it goes back to the queue (`database_unavailable`, not counted as a
   * death) as soon as the database takes the write, tried again through transient failures for up
   * to half the lease, so it resumes the moment the database is back rather than once its lease
   * ran out and the lease sweep came by. When that fails too, the lease sweep takes it back. The
   * checkpoint is not written: what is in memory may be ahead of what the failed write would have
   * stored with it (a new conversation's cost without its session id), so a resumed run starts
   * from the last one stored, as after the lease sweep.
   */
  private async requeueAfterDatabaseFailure(): Promise<void> {
    try {
      await this.status.settled();
      await this.status.release(TaskStatus.Pending, 'database_unavailable', {}, 'run');
      this.logger.log(`Task ${this.taskId}: back to the queue, the database answers again`);
    } catch (error) {
      this.logger.warn(
        error instanceof LeaseLostError
          ? `Task ${this.taskId}: not re-queued: its lease was taken over meanwhile`
          : `Task ${this.taskId}: not re-queued (${String(error)}); the lease sweep takes it back once its lease ran out`,
      );
    }
  }
}
