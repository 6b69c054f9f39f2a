import { concatMap, defer, filter, from, Observable } from 'rxjs';
import { NewInteraction, StatusReason, TaskPatch, TaskStatus } from 'src/tasks';
import { CommandEvent, CommandResult, DependencyMark, formatCommandLine } from 'src/test-runner';
import { DependencyLook } from 'src/orchestrator/run/changed-dependencies';
import { ProcessTracker } from 'src/orchestrator/run/process-tracker';
import { RunPorts, WorkspaceInfo, WorkspacePort } from 'src/orchestrator/run/run-ports';
import { RunContext, RunState } from 'src/orchestrator/run/run-state';
import { capText } from 'src/orchestrator/run/turn-records';
import { ChangedSinceTested, GitConfigFingerprint, TestedTree } from 'src/workspaces';

/** Most of a failed setup command's output repeated in the task's error message. */
const SETUP_FAILURE_OUTPUT_BYTES = 4 * 1024;

/** How a setup command ended, in words. */
function describeEnd(result: CommandResult): string {
  if (result.timedOut) return `timed out after ${result.durationMs} ms`;
  if (result.spawnError !== null) return `could not start (${result.spawnError})`;
  if (result.exitCode === null) return `was killed by ${result.signal ?? 'a signal'}`;
  return `exited with code ${result.exitCode}`;
}

/** A setup command and how it ended, in words: "`npm ci` exited with code 1". */
export function setupEnded(result: CommandResult): string {
  return `\`${formatCommandLine(result.argv)}\` ${describeEnd(result)}`;
}

/** The verification's runs in a scratch checkout, set up first: their records' `stage`. */
export type ScratchStage =
  | 'generated_on_commit'
  | 'generated_at_base'
  | 'existing_tests_on_change'
  | 'existing_tests_at_base';

/** A setup command that let the task go on: exit code 0 within its time. */
export const setupPassed = (result: CommandResult): boolean =>
  result.exitCode === 0 && !result.timedOut;

/**
 * THE RUN'S WORKSPACE: where the agent, the generated tests and the regression suite run. For a
 * task in a worktree (isolation `worktree`, through `WorkspacePort`):
 *
 * - `prepare` creates the task's workspace before its first step, or re-attaches to it when the
 *   task resumes, and records it on the task (`workspace_path`, `branch`);
 * - the session's setup command runs in a workspace checked out now (`setup`), its output stored
 *   as a `setup` record; a failure fails the task `setup_failed` (`TaskRun`); its runs in the
 *   verification's scratch checkouts are stored the same way (`scratchSetupEvent`);
 * - once the workspace is ready for the agent (the setup command passed, or there is none to
 *   run), the fingerprint of the repository's git configuration is taken and recorded on the
 *   task (`git_config_fingerprint`, with `setup_completed_at` when after the setup), and taken
 *   again after the regression baseline (`fingerprintAgain`): every test round and commit in the
 *   workspace is checked against it. A task that has one keeps it (a resumed task, a workspace
 *   checked out again from its branch);
 * - as the agent is about to work, its installed dependencies are marked (`dependencyMark`, kept
 *   with the test snapshot), and before a verdict what changed in them since is looked at
 *   (`lookAtDependencies`);
 * - a COMPLETED task's changes are committed on its branch (`commitResult`, `head_commit`), and a
 *   FAILED or CANCELLED task's uncommitted work is kept the same way (`keepWork`).
 *
 * A task in place (isolation `none`) has none of this: its directory is the project's.
 */
export class RunWorkspace {
  private info: WorkspaceInfo | null = null;
  private setupDone: boolean;
  /**
   * The completing commit while it runs: a stop can cut its step off, and the commit that keeps
   * the stopped task's work waits for it (the two would collide in the worktree's index).
   */
  private completing: Promise<unknown> = Promise.resolve();
  /**
   * The preparation while it runs: a stop (a cancel) cuts its step off, but `git worktree add`
   * goes on; the end of the run waits for it, so the workspace is on the task (`workspace_path`,
   * `branch`) before it is let go, and deleting the task or the retention sweep removes it.
   */
  private preparing: Promise<unknown> = Promise.resolve();
  /**
   * The tree the current test round tests, recorded as it started (`beforeRound`); null before a
   * round of this run, or when git could not say what changed (the commit is then not checked).
   */
  private tested: TestedTree | null = null;
  /** What the last round's removal of stray bytecode left (`strayBytecodeLeft`). */
  private bytecodeLeft: string | null = null;

  constructor(
    private readonly ctx: RunContext,
    private readonly ports: RunPorts,
    private readonly state: RunState,
    private readonly tracker: ProcessTracker,
  ) {
    this.setupDone = ctx.task.setupCompletedAt !== null;
  }

  /** Where the agent and the tests run: the workspace once prepared, else the project. */
  get directory(): string {
    return this.info?.directory ?? this.ctx.task.projectPath;
  }

  /** What the agent's and the tests' environment get from the workspace (`WorkspaceInfo.agentEnv`). */
  get agentEnv(): Record<string, string> {
    return this.info?.agentEnv ?? {};
  }

  /** The setup command still has to run in the workspace. */
  get needsSetup(): boolean {
    return this.info !== null && this.ctx.setupCommand !== null && !this.setupDone;
  }

  /** Creates the workspace or re-attaches to it, and records it on the task (one write with its record). */
  prepare(): Promise<void> {
    const prepared = this.prepareNow();
    this.preparing = prepared.catch(() => undefined);
    return prepared;
  }

  /** Waits for a preparation a stop cut off (`preparing`); never throws. */
  async settled(): Promise<void> {
    await this.preparing;
  }

  private async prepareNow(): Promise<void> {
    const port = this.ports.workspace;
    if (port === null) return;
    // The claim recorded the phase (`preparing_workspace`): it is the fenced write git follows.
    this.info = await port.prepare();
    if (this.info.created) this.setupDone = false;
    // The agent works next: no setup command may still write the repository's configuration.
    if (!this.needsSetup) await this.fingerprint();
    const info = this.info;
    const record: NewInteraction = {
      kind: 'system',
      iteration: this.state.iteration,
      content: info.created
        ? `Workspace ${info.path} checked out on branch ${info.branch} (base ${this.ctx.task.baseCommit ?? '?'}).`
        : `Workspace ${info.path} on branch ${info.branch} re-attached.`,
      data: {
        type: info.created ? 'workspace_created' : 'workspace_attached',
        path: info.path,
        branch: info.branch,
        base_commit: this.ctx.task.baseCommit,
      },
    };
    await this.ports.log.write([record], {
      workspacePath: info.path,
      branch: info.branch,
      gitConfigFingerprint: info.gitConfig,
      ...(info.created ? { setupCompletedAt: null } : {}),
    });
  }

  /**
   * After the regression baseline, before the agent's first turn: the project's suite (the key
   * holder's command, run on the base commit, as the setup command is) may write the repository's
   * git configuration itself (a test of git tooling run against its own repository). What it
   * wrote is part of the starting point, so the fingerprint is taken again and recorded; the first
   * test round, which runs the suite again, failed `git_config_changed` on it before.
   */
  async fingerprintAgain(): Promise<void> {
    if (this.ports.workspace === null || this.info === null) return;
    this.info = { ...this.info, gitConfig: null };
    await this.ports.log.update({ gitConfigFingerprint: await this.fingerprint() });
  }

  /**
   * The fingerprint the workspace is checked against: the task's, else taken now (`fingerprint`
   * of `WorkspacePort`) and kept on the workspace; for the caller to record.
   */
  private async fingerprint(): Promise<GitConfigFingerprint | null> {
    const port = this.ports.workspace;
    const info = this.info;
    if (port === null || info === null) return null;
    if (info.gitConfig !== null) return info.gitConfig;
    const gitConfig = await port.fingerprint(info);
    this.info = { ...info, gitConfig };
    return gitConfig;
  }

  /**
   * Runs the setup command in the workspace, storing its output as a `setup` record; emits its
   * result once stored (a passed one is remembered on the task). Unsubscribing ends it.
   */
  setup(): Observable<CommandResult> {
    const command = this.ctx.setupCommand;
    const port = this.ports.workspace;
    if (command === null || port === null) throw new Error('no setup command to run');
    this.state.processesMayRemain = true;
    return defer(() => this.ports.log.update({ phase: 'running_setup' })).pipe(
      concatMap(() => port.setup(this.directory, command)),
      concatMap((event: CommandEvent) => from(this.onSetupEvent(event))),
      filter((result): result is CommandResult => result !== null),
    );
  }

  private async onSetupEvent(event: CommandEvent): Promise<CommandResult | null> {
    const result = await this.storeSetup(event, {});
    if (result === null) return null;
    if (setupPassed(result)) {
      this.setupDone = true;
      const gitConfigFingerprint = await this.fingerprint();
      await this.ports.log.update({
        setupCompletedAt: new Date(this.ports.clock.nowMs()),
        processGroupId: null,
        gitConfigFingerprint,
      });
    } else {
      await this.ports.log.update({ processGroupId: null });
    }
    return result;
  }

  /**
   * An event of the setup command run in one of the verification's scratch checkouts (a clean
   * checkout of the change, the base commit), stored as the workspace's own setup run is, its
   * record marked with the `stage` of the tests run there; returns its result once stored.
   */
  async scratchSetupEvent(event: CommandEvent, stage: ScratchStage): Promise<CommandResult | null> {
    const result = await this.storeSetup(event, { stage });
    if (result !== null) await this.ports.log.update({ processGroupId: null });
    return result;
  }

  /** Tracks a setup command's process; once it ended, stores its `setup` record (with `data`). */
  private async storeSetup(
    event: CommandEvent,
    data: Record<string, unknown>,
  ): Promise<CommandResult | null> {
    if (event.type === 'spawned') {
      await this.tracker.started(event.pid);
      return null;
    }
    await this.tracker.settle();
    const result = event.result;
    await this.ports.log.append({
      kind: 'setup',
      iteration: this.state.iteration,
      content: capText(
        `$ ${formatCommandLine(result.argv)}  (${describeEnd(result)})\n${result.output}`,
      ),
      data: {
        command: result.argv,
        passed: setupPassed(result),
        exit_code: result.exitCode,
        timed_out: result.timedOut,
        duration_ms: result.durationMs,
        ...data,
      },
    });
    return result;
  }

  /** Whether a setup result lets the task go on, and the failure's message when not. */
  static verdict(result: CommandResult): { passed: boolean; message: string } {
    return {
      passed: setupPassed(result),
      message:
        `The setup command ${setupEnded(result)}:\n` +
        capText(result.output.slice(-SETUP_FAILURE_OUTPUT_BYTES), SETUP_FAILURE_OUTPUT_BYTES),
    };
  }

  /**
   * Before a test round: ends the processes the agent left running where it works (a background
   * job started with `setsid`: it could change files while the tests run, or after them, before
   * the commit), storing a record of them, when anything that can start one ran since the last
   * look; then, in a workspace, checks the repository's git configuration against the task's
   * fingerprint (changed: `GitConfigChangedError`, the task fails `git_config_changed` before the
   * round's own git runs through it), puts its `.git` file back and records the tree the round tests
   * (`treePaths`: what the last look's `git status` named, from the worktree's top; null when git
   * could not say), which the completing commit must match.
   */
  async beforeRound(treePaths: readonly string[] | null): Promise<void> {
    this.tested = null;
    this.bytecodeLeft = null;
    // The look reads every process's environment (a few ms of the host's CPU): only when something
    // that can start processes ran since the last one (`RunState.processesMayRemain`). The round's
    // tests are such a thing, for the next round.
    const ended = this.state.processesMayRemain
      ? await this.ports.processes.endEscaped(
          this.info?.path ?? this.directory,
          this.ctx.settings.killGraceMs,
        )
      : [];
    this.state.processesMayRemain = true;
    if (ended.length > 0) {
      await this.ports.log.append({
        kind: 'system',
        iteration: this.state.iteration,
        content: `Ended ${ended.length} process(es) left running in the project before the test round (pid ${ended.join(', ')}).`,
        data: { type: 'processes_ended', pids: ended },
      });
    }
    const port = this.ports.workspace;
    if (port !== null && this.info !== null) {
      await port.checkGitConfig(this.info);
      await port.restoreGitLink(this.info);
      await this.removeStrayBytecode(port, this.info);
    }
    if (port !== null && this.info !== null && treePaths !== null) {
      this.tested = await port.recordTested(this.info, treePaths);
    }
  }

  /**
   * Removes the Python bytecode the workspace's index does not track, so that the round runs the
   * sources its commit holds (`removeStrayBytecode`). What could not be removed, or a look that
   * stopped short, is recorded as a system interaction, and the verification's `not_checked`
   * says so (`strayBytecodeLeft`); the round runs all the same.
   */
  private async removeStrayBytecode(port: WorkspacePort, info: WorkspaceInfo): Promise<void> {
    const { failed, truncated } = await port.removeStrayBytecode(info);
    if (failed.length === 0 && !truncated) return;
    const named = failed.slice(0, 20).join(', ');
    this.bytecodeLeft = truncated
      ? 'Python bytecode: the look for what git does not track stopped short (too many files), so what it did not reach may have run in the tests instead of its source'
      : `Python bytecode: what git does not track could not be removed before the test round, so it may have run in the tests instead of its source (${named})`;
    await this.ports.log.append({
      kind: 'system',
      iteration: this.state.iteration,
      content: `${this.bytecodeLeft}.`,
      data: { type: 'stray_bytecode_left', paths: failed.slice(0, 20), truncated },
    });
  }

  /** Why the last round's tests may have run bytecode instead of sources; null: they did not. */
  get strayBytecodeLeft(): string | null {
    return this.bytecodeLeft;
  }

  /**
   * The mark of the workspace's installed dependencies, taken now (`WorkspacePort.markDependencies`:
   * before the agent's first turn, after the setup command and the baseline, with the test
   * snapshot that keeps it); null for a task in place, whose dependencies are not looked at, and
   * when it could not be taken (the file it makes could not be: the look is then said unmade).
   */
  async dependencyMark(): Promise<DependencyMark | null> {
    const port = this.ports.workspace;
    if (port === null || this.info === null) return null;
    return port.markDependencies(this.info).catch(() => null);
  }

  /**
   * What changed in the workspace's installed dependencies since the mark the test snapshot keeps
   * (`WorkspacePort.changedDependencies`); nothing is read for a task in place.
   */
  async lookAtDependencies(): Promise<DependencyLook> {
    const port = this.ports.workspace;
    if (port === null || this.info === null) return { kind: 'in_place' };
    const mark = this.state.testSnapshot?.dependencies;
    if (mark === undefined) return { kind: 'unmarked' };
    return { kind: 'looked', changes: await port.changedDependencies(this.info, mark) };
  }

  /** Whether the commit of a completing task is checked against the tree its tests ran on. */
  get testedTreeRecorded(): boolean {
    return this.ports.workspace === null || this.tested !== null;
  }

  /**
   * Commits the COMPLETED task's changes on its branch: the task's `head_commit`. When the tree
   * to commit is not the one the round tested (`beforeRound`), nothing is committed and the
   * files changed since are returned instead.
   */
  async commitResult(summary: string): Promise<TaskPatch | ChangedSinceTested> {
    const port = this.ports.workspace;
    if (port === null || this.info === null) return {};
    // A fenced write first: a run that lost its lease must not commit in a workspace its new
    // owner works in.
    await this.ports.log.update({ phase: 'committing' });
    const message = `${this.subject()}\n\nTask ${this.ctx.task.id}: ${summary}\n`;
    const committed =
      this.tested === null
        ? port.commit(this.info, message)
        : port.commitTested(this.info, message, this.tested);
    this.completing = committed.catch(() => undefined);
    const result = await committed;
    return 'changedSinceTested' in result ? result : { headCommit: result.commit };
  }

  /**
   * Keeps a FAILED or CANCELLED task's uncommitted work as a commit on its branch, after a
   * completing commit still running (its step cut off by a cancel). A failed commit is returned,
   * not thrown (the task ends all the same; the work stays in the workspace, and its removal
   * commits it); only a lost lease throws.
   */
  async keepWork(
    status: TaskStatus,
    reason: StatusReason,
  ): Promise<{ patch: TaskPatch; error: string | null }> {
    const port = this.ports.workspace;
    if (port === null || this.info === null) return { patch: {}, error: null };
    await this.completing;
    await this.ports.log.update({ phase: 'committing' });
    try {
      const { commit } = await port.commit(
        this.info,
        `WIP: ${this.subject()}\n\nUncommitted work of task ${this.ctx.task.id}, kept when it ended ${status} (${reason}).\n`,
      );
      return { patch: { headCommit: commit }, error: null };
    } catch (error) {
      return { patch: {}, error: error instanceof Error ? error.message : String(error) };
    }
  }

  private subject(): string {
    const line = this.ctx.task.description.split('\n', 1)[0].trim();
    return line.length > 72 ? `${line.slice(0, 69)}...` : line;
  }
}
