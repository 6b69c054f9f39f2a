import { Injectable } from '@nestjs/common';
import { Observable } from 'rxjs';
import { ApiKeysService } from 'src/auth';
import { ClaudeCliRunner } from 'src/claude-cli';
import { Clock } from 'src/common';
import { AppConfig } from 'src/config';
import { contextLogger } from 'src/logging';
import { machineMonotonicMs, ProcessGroups, ProcessLauncher } from 'src/process';
import { DomainError } from 'src/common';
import { ProjectPathService, SessionsService } from 'src/sessions';
import { SimulatedHumanService } from 'src/simulated-human';
import {
  GitConfigQuarantine,
  HumanWaits,
  Lease,
  Task,
  TaskEventLog,
  TaskMessages,
} from 'src/tasks';
import { changedDependencies, markDependencies, TestRunnerService } from 'src/test-runner';
import {
  BaseCheckout,
  RefGuard,
  WorkspaceError,
  WorkspaceRef,
  WorkspacesService,
  WorkspaceUsage,
} from 'src/workspaces';
import { keepLease } from 'src/orchestrator/lease-renewal';
import { TaskRunControl } from 'src/orchestrator/run/run-control';
import { RunLog, RunPorts, WorkspaceInfo, WorkspacePort } from 'src/orchestrator/run/run-ports';
import { RunLogger, TaskRun } from 'src/orchestrator/run/task-run';
import { ClaimedTask, TaskQueueRepository } from 'src/orchestrator/task-queue.repository';
import { RegressionBaselines } from 'src/orchestrator/regression-baselines.repository';
import { verificationPort } from 'src/orchestrator/verification-adapter';

/**
 * Turns a claimed task into a running `TaskRun`: loads its session's test and setup commands,
 * plugs the real adapters into the run's ports (the Claude CLI, the test runner, the event log
 * bound to the lease, process groups, the clock, the project_path rules its directory is held to
 * before anything runs, its owner key as it stands now (`ApiKeysService.refusal`), the task's
 * workspace) and keeps the lease
 * renewed while the run goes on. Every renewal also moves the process host's deadline for the
 * task's directory: if renewals stop (the server is frozen or stalled, the database is gone), the
 * host ends the task's processes before the lease can be claimed elsewhere. The run's own log
 * lines carry its `task_id` (its `RunLogger` is bound to the id), and so do those of the CLI runner
 * and the test file finder working for it: they are handed loggers bound to the id with each call
 * (`TurnRequest.log`, the `log` of `snapshot` / `changes`).
 */
@Injectable()
export class TaskRunnerService {
  constructor(
    private readonly config: AppConfig,
    private readonly queue: TaskQueueRepository,
    private readonly events: TaskEventLog,
    private readonly sessions: SessionsService,
    private readonly projectPaths: ProjectPathService,
    private readonly cli: ClaudeCliRunner,
    private readonly tests: TestRunnerService,
    private readonly human: SimulatedHumanService,
    private readonly messages: TaskMessages,
    private readonly waits: HumanWaits,
    private readonly processes: ProcessGroups,
    private readonly launcher: ProcessLauncher,
    private readonly clock: Clock,
    private readonly workspaces: WorkspacesService,
    private readonly usage: WorkspaceUsage,
    private readonly baselines: RegressionBaselines,
    private readonly baseCheckout: BaseCheckout,
    private readonly refGuard: RefGuard,
    private readonly quarantine: GitConfigQuarantine,
    private readonly keys: ApiKeysService,
  ) {}

  /** Runs the claimed task to its end (or until stopped); completes, never errors. */
  run(claim: ClaimedTask, control: TaskRunControl): Observable<void> {
    const logger = contextLogger('TaskRun', { task_id: claim.task.id });
    // A worktree task's workspace: the one it recorded, where that is here, even under another
    // instance's WORKSPACES_DIR (`WorkspacesService.locate`, as its preparation finds it).
    const dir =
      claim.task.isolation === 'worktree'
        ? this.workspaces.locate({
            taskId: claim.task.id,
            gitDir: claim.task.gitDir,
            workspacePath: claim.task.workspacePath,
          })
        : claim.task.projectPath;
    return new Observable<void>((subscriber) => {
      const supervise = (expiresAt: Date): void =>
        this.launcher.supervise(dir, this.killAt(expiresAt), this.killGraceMs);
      supervise(claim.task.leaseExpiresAt ?? this.clock.now());
      const renewal = keepLease(claim.lease, control, {
        renew: (lease) => this.queue.renew(lease),
        renewed: supervise,
        clock: this.clock,
        leaseMs: this.leaseMs,
        warn: (message) => logger.warn(message),
      });
      // Its workspace grows while the run works in it: measured more often for the quota.
      const workspace = claim.task.isolation === 'worktree' ? dir : null;
      if (workspace !== null) this.usage.inUse(workspace);
      const main = this.start(claim, control, logger).subscribe({
        complete: () => subscriber.complete(),
        error: () => subscriber.complete(),
      });
      return () => {
        renewal.unsubscribe();
        main.unsubscribe();
        this.launcher.release(dir);
        if (workspace !== null) this.usage.doneWith(workspace);
      };
    });
  }

  private get leaseMs(): number {
    return this.config.LEASE_SECONDS * 1000;
  }

  private get killGraceMs(): number {
    return this.config.KILL_GRACE_SECONDS * 1000;
  }

  /**
   * When the host must start ending the task's processes so they are gone by the time its lease
   * runs out: two grace periods and a margin before the expiry, but at most half the lease. On
   * this machine's monotonic clock, which the host keeps time by (the lease's expiry is on the
   * database's).
   */
  private killAt(expiresAt: Date): number {
    const budgetMs = Math.min(2 * this.killGraceMs + 2000, this.leaseMs / 2);
    return machineMonotonicMs() + (expiresAt.getTime() - budgetMs - this.clock.nowMs());
  }

  private start(claim: ClaimedTask, control: TaskRunControl, logger: RunLogger): Observable<void> {
    return new Observable<void>((subscriber) => {
      let inner: { unsubscribe(): void } | undefined;
      let closed = false;
      this.sessions
        .findOne(claim.task.sessionId)
        .then((session) => {
          if (closed) return;
          const run = new TaskRun(
            {
              task: claim.task,
              resumed: claim.resumed,
              testCommand: session.testCommand,
              regressionCommand: session.regressionCommand,
              setupCommand: session.setupCommand,
              settings: {
                apiErrorRetryDelaySeconds: this.config.API_ERROR_RETRY_DELAY_SECONDS,
                apiErrorRetryMaxDelaySeconds: this.config.API_ERROR_RETRY_MAX_DELAY_SECONDS,
                killGraceMs: this.killGraceMs,
              },
            },
            this.ports(claim.lease, claim.task),
            control,
            logger,
          );
          inner = run.pipeline().subscribe(subscriber);
        })
        .catch((error: unknown) => subscriber.error(error));
      return () => {
        closed = true;
        inner?.unsubscribe();
      };
    });
  }

  private ports(lease: Lease, task: Task): RunPorts {
    const events = this.events;
    const log: RunLog = {
      append: (...records) => events.append(lease, records),
      write: (records, patch, guard) => events.append(lease, records, patch, guard),
      appendTestRun: (record, cases, patch, options) =>
        events.appendTestRun(lease, record, cases, patch, options),
      update: (patch) => events.update(lease, patch),
      changeStatus: (change, patch, records, guard) =>
        events.changeStatus(lease, change, patch, records, guard),
      release: (change, patch, records, guard) =>
        events.release(lease, change, patch, records, guard),
    };
    const fields = { task_id: task.id };
    const cliLog = contextLogger('ClaudeCliRunner', fields);
    const finderLog = contextLogger('TestFileFinder', fields);
    const tests = this.tests;
    return {
      agent: { runTurn: (request) => this.cli.runTurn({ ...request, log: cliLog }) },
      tests: {
        describeTestSetup: (projectPath, testCommand) =>
          tests.describeTestSetup(projectPath, testCommand),
        snapshot: (projectPath) => tests.snapshot(projectPath, finderLog),
        changes: (projectPath, before) => tests.changes(projectPath, before, finderLog),
        runGenerated: (projectPath, files, testCommand, readable, env) =>
          tests.runGenerated(projectPath, files, testCommand, readable, env),
        runRegression: (projectPath, regressionCommand, env) =>
          tests.runRegression(projectPath, regressionCommand, env),
      },
      human: this.human,
      log,
      messages: {
        undelivered: () => this.messages.undelivered(task.id),
        waiting: () => this.messages.waiting(task.id),
        endWait: (iteration) => this.waits.resume(task.id, iteration, 'human_replied'),
      },
      processes: {
        isGroupAlive: (pgid) => this.processes.isGroupAlive(pgid),
        endGroup: (pgid, graceMs) => this.processes.endGroup(pgid, graceMs),
        endEscaped: (dir, graceMs) => this.launcher.endEscaped(dir, graceMs),
      },
      clock: this.clock,
      verification: verificationPort(
        task,
        this.baselines,
        this.baseCheckout,
        this.tests,
        (directory, command) => this.workspaces.runSetup(directory, command),
      ),
      project: { refusal: () => this.projectRefusal(task.projectPath) },
      ownerKey: {
        refusal: () =>
          task.ownerKeyId === null ? Promise.resolve(null) : this.keys.refusal(task.ownerKeyId),
      },
      workspace: task.isolation === 'worktree' ? this.workspacePort(task) : null,
    };
  }

  /** Why the rules refuse the task's project directory now (`ProjectPathService.recheck`), or null. */
  private projectRefusal(projectPath: string): string | null {
    try {
      this.projectPaths.recheck(projectPath);
      return null;
    } catch (error) {
      if (error instanceof DomainError) return error.message;
      throw error;
    }
  }

  /** The task's workspace (`WorkspacesService`), bound to what the task recorded of it. */
  private workspacePort(task: Task): WorkspacePort {
    const repository = (): { gitDir: string; baseCommit: string } => {
      if (task.gitDir === null || task.baseCommit === null) {
        throw new WorkspaceError(`task ${task.id} has no repository or base commit recorded`);
      }
      return { gitDir: task.gitDir, baseCommit: task.baseCommit };
    };
    const workspaceRef = (workspace: WorkspaceInfo): WorkspaceRef => ({
      path: workspace.path,
      branch: workspace.branch,
      gitDir: repository().gitDir,
      gitConfig: workspace.gitConfig,
    });
    // A change that failed another task of the repository: its fingerprint may have been taken
    // with it (after the other's agent made it, before its run found it). The failure is kept in
    // this task's record, which its owner reads: that task is named only when it has the same
    // owner (admins, who see both, read it too).
    const notQuarantined = () =>
      this.quarantine.assertClear(
        repository().gitDir,
        task.id,
        (failed) => failed.ownerKeyId === task.ownerKeyId,
      );
    return {
      prepare: async () => {
        const { gitDir, baseCommit } = repository();
        // Before `git worktree add` and the setup command run through the configuration.
        await notQuarantined();
        const prepared = await this.workspaces.prepare({
          gitDir,
          baseCommit,
          taskId: task.id,
          description: task.description,
          projectPath: task.projectPath,
          branch: task.branch,
          workspacePath: task.workspacePath,
        });
        const agentEnv = this.refGuard.envFor(prepared.branch, gitDir, prepared.path);
        return { ...prepared, agentEnv, gitConfig: task.gitConfigFingerprint };
      },
      fingerprint: (workspace) =>
        this.workspaces.fingerprint(task.id, repository().gitDir, workspace.path),
      setup: (directory, command) => this.workspaces.runSetup(directory, command),
      commit: async (workspace, message) => {
        await notQuarantined();
        return this.workspaces.commit(workspaceRef(workspace), message);
      },
      restoreGitLink: (workspace) => this.workspaces.restoreGitLink(workspaceRef(workspace)),
      checkGitConfig: async (workspace) => {
        await notQuarantined();
        await this.workspaces.assertGitConfigUnchanged(repository().gitDir, workspace.gitConfig);
      },
      removeStrayBytecode: (workspace) => this.workspaces.removeStrayBytecode(workspace.path),
      markDependencies: (workspace) => markDependencies(workspace.path, workspace.directory),
      changedDependencies: (workspace, mark) => changedDependencies(workspace.path, mark),
      recordTested: (workspace, treePaths) =>
        this.workspaces.recordTested(workspace.path, { changed: treePaths }),
      commitTested: async (workspace, message, tested) => {
        await notQuarantined();
        return this.workspaces.commitTested(workspaceRef(workspace), message, tested);
      },
    };
  }
}
