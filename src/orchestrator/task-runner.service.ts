import { Injectable } from '@nestjs/common';
import { Observable } from 'rxjs';
import { ClaudeCliRunner } from 'src/claude-cli';
import { Clock } from 'src/common';
import { AppConfig } from 'src/config';
import { contextLogger, runWithLogFields } from 'src/logging';
import { ProcessGroups } from 'src/process';
import { SessionsService } from 'src/sessions';
import { SimulatedHumanService } from 'src/simulated-human';
import { Lease, TaskEventLog } from 'src/tasks';
import { TestRunnerService } from 'src/test-runner';
import { keepLease } from 'src/orchestrator/lease-renewal';
import { TaskRunControl } from 'src/orchestrator/run/run-control';
import { RunLog, RunPorts } from 'src/orchestrator/run/run-ports';
import { RunLogger, TaskRun } from 'src/orchestrator/run/task-run';
import { ClaimedTask, TaskQueueRepository } from 'src/orchestrator/task-queue.repository';

/**
 * Turns a claimed task into a running `TaskRun`: loads its session's test commands, plugs the
 * real adapters into the run's ports (the Claude CLI, the test runner, the event log bound to the
 * lease, process groups, the clock) and keeps the lease renewed while the run goes on. Every log
 * line of the run carries its `task_id`: the run's own (its `RunLogger` is bound to the id) and
 * those of the services working for it (the run starts inside `runWithLogFields`).
 */
@Injectable()
export class TaskRunnerService {
  constructor(
    private readonly config: AppConfig,
    private readonly queue: TaskQueueRepository,
    private readonly events: TaskEventLog,
    private readonly sessions: SessionsService,
    private readonly cli: ClaudeCliRunner,
    private readonly tests: TestRunnerService,
    private readonly human: SimulatedHumanService,
    private readonly processes: ProcessGroups,
    private readonly clock: Clock,
  ) {}

  /** Runs the claimed task to its end (or until stopped); completes, never errors. */
  run(claim: ClaimedTask, control: TaskRunControl): Observable<void> {
    const fields = { task_id: claim.task.id };
    const logger = contextLogger('TaskRun', fields);
    return new Observable<void>((subscriber) =>
      runWithLogFields(fields, () => {
        const renewal = keepLease(claim.lease, control, {
          renew: (lease) => this.queue.renew(lease),
          clock: this.clock,
          leaseMs: this.config.LEASE_SECONDS * 1000,
          warn: (message) => logger.warn(message),
        });
        const main = this.start(claim, control, logger).subscribe({
          complete: () => subscriber.complete(),
          error: () => subscriber.complete(),
        });
        return () => {
          renewal.unsubscribe();
          main.unsubscribe();
        };
      }),
    );
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
              settings: {
                apiErrorRetryDelaySeconds: this.config.API_ERROR_RETRY_DELAY_SECONDS,
                apiErrorRetryMaxDelaySeconds: this.config.API_ERROR_RETRY_MAX_DELAY_SECONDS,
                killGraceMs: this.config.KILL_GRACE_SECONDS * 1000,
              },
            },
            this.ports(claim.lease),
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

  private ports(lease: Lease): RunPorts {
    const events = this.events;
    const log: RunLog = {
      append: (...records) => events.append(lease, records),
      appendTestRun: (record, cases) => events.appendTestRun(lease, record, cases),
      update: (patch) => events.update(lease, patch),
      changeStatus: (change, patch) => events.changeStatus(lease, change, patch),
      release: (change, patch) => events.release(lease, change, patch),
    };
    return {
      agent: this.cli,
      tests: this.tests,
      human: this.human,
      log,
      processes: this.processes,
      clock: this.clock,
    };
  }
}
