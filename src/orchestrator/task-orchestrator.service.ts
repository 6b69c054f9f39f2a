import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import {
  catchError,
  concatMap,
  EMPTY,
  exhaustMap,
  finalize,
  from,
  interval,
  merge,
  mergeMap,
  Observable,
  Subject,
  Subscription,
  takeUntil,
  timer,
} from 'rxjs';
import { Draining } from 'src/common';
import { AppConfig } from 'src/config';
import { TaskInterruptSignal, TaskQueueSignal } from 'src/tasks';
import { WorkspaceUsage } from 'src/workspaces';
import { HumanWaitSweeperService } from 'src/orchestrator/human-wait-sweeper.service';
import { LeaseSweeperService } from 'src/orchestrator/lease-sweeper.service';
import { TaskRunControl } from 'src/orchestrator/run/run-control';
import { ClaimedTask, TaskQueueRepository } from 'src/orchestrator/task-queue.repository';
import { TaskRunnerService } from 'src/orchestrator/task-runner.service';
import { WorkspaceSweeperService } from 'src/orchestrator/workspace-sweeper.service';

/**
 * How often the owner of running tasks looks for cancel and interrupt requests made on other
 * instances.
 */
const REQUEST_POLL_MS = 1000;

/**
 * Feeds claimed tasks into `mergeMap(runTask, MAX_CONCURRENT_TASKS)`.
 *
 * - A poll every QUEUE_POLL_MS (and a wake-up whenever a task is created or finishes) claims as
 *   many tasks as there are free slots (TaskQueueRepository.claimNext), so a claimed task never
 *   waits for a slot while holding a lease. While the workspaces use WORKSPACES_MAX_GB or more,
 *   tasks that need a new workspace are not claimed (they wait, reason `workspace_quota`).
 * - Each claimed task runs as its own pipeline (TaskRunnerService) with a `TaskRunControl`
 *   used to stop it: cancel (from the API on this instance, or seen in the database every
 *   second when requested on another one) and shutdown; and, the same ways, to interrupt its
 *   agent turn for a person's message.
 * - Shutdown (SIGTERM, app.close()): stop claiming, stop every running task (its CLI or test
 *   process group is ended and it goes back to PENDING, reason `shutdown`), and wait for that.
 * - ORCHESTRATOR_ENABLED=false leaves tasks queued (an API-only instance).
 */
@Injectable()
export class TaskOrchestratorService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('TaskOrchestrator');
  private readonly running = new Map<string, TaskRunControl>();
  /** Per task, a promise that settles when this instance's latest run of it has ended. */
  private readonly winding = new Map<string, Promise<void>>();
  private readonly wake$ = new Subject<void>();
  private readonly stopClaiming$ = new Subject<void>();
  private claimed = 0;
  private peak = 0;
  private started = false;
  private stopping = false;
  private claimErrorLogged = false;
  /** The workspaces were over their quota at the last claim (queued tasks were marked so). */
  private overQuota = false;
  private subscriptions: Subscription[] = [];
  private done: Promise<void> = Promise.resolve();

  constructor(
    private readonly config: AppConfig,
    private readonly queue: TaskQueueRepository,
    private readonly runner: TaskRunnerService,
    private readonly sweeper: LeaseSweeperService,
    private readonly queueSignal: TaskQueueSignal,
    private readonly interruptSignal: TaskInterruptSignal,
    private readonly draining: Draining,
    private readonly usage: WorkspaceUsage,
    private readonly workspaceSweeper: WorkspaceSweeperService,
    private readonly humanWaitSweeper: HumanWaitSweeperService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.ORCHESTRATOR_ENABLED) {
      this.logger.log('Orchestrator disabled (ORCHESTRATOR_ENABLED=false): tasks stay queued');
      return;
    }
    await this.sweeper.sweep((id) => this.running.has(id));
    this.sweeper.schedule((id) => this.running.has(id));
    this.workspaceSweeper.schedule();
    this.humanWaitSweeper.schedule();
    this.start();
    this.logger.log(
      `Orchestrator started as ${this.queue.owner}: up to ${this.config.MAX_CONCURRENT_TASKS} tasks at once`,
    );
  }

  private start(): void {
    this.started = true;
    let finished!: () => void;
    this.done = new Promise((resolve) => (finished = resolve));
    const claims$ = merge(
      timer(0, this.config.QUEUE_POLL_MS),
      this.wake$,
      this.queueSignal.queued$,
    ).pipe(
      takeUntil(this.stopClaiming$),
      exhaustMap(() => this.claimFreeSlots()),
    );
    this.subscriptions.push(
      claims$
        .pipe(mergeMap((claim) => this.runTask(claim), this.config.MAX_CONCURRENT_TASKS))
        .subscribe({ complete: () => finished() }),
      interval(REQUEST_POLL_MS)
        .pipe(exhaustMap(() => from(this.pollRequests()).pipe(catchError(() => EMPTY))))
        .subscribe(),
      this.interruptSignal.requested$.subscribe((id) => this.running.get(id)?.interrupt()),
    );
  }

  /** Claims tasks while slots are free; emits each claim. */
  private claimFreeSlots(): Observable<ClaimedTask> {
    return new Observable<ClaimedTask>((subscriber) => {
      const claimLoop = async (): Promise<void> => {
        await this.queue.cancelFlagged();
        if (this.stopping || this.claimed >= this.config.MAX_CONCURRENT_TASKS) return;
        const overQuota = await this.usage.overQuota();
        if (overQuota || this.overQuota) await this.queue.markQuotaWaiting(overQuota);
        this.overQuota = overQuota;
        while (!this.stopping && this.claimed < this.config.MAX_CONCURRENT_TASKS) {
          const claim = await this.queue.claimNext({ newWorkspaces: !overQuota });
          if (claim === null || subscriber.closed) return;
          this.claimed += 1;
          this.claimErrorLogged = false;
          subscriber.next(claim);
        }
      };
      claimLoop()
        .catch((error: unknown) => {
          if (!this.claimErrorLogged) {
            this.logger.error(`Claiming tasks failed: ${String(error)}`);
            this.claimErrorLogged = true;
          }
        })
        .finally(() => subscriber.complete());
    });
  }

  private runTask(claim: ClaimedTask): Observable<void> {
    const id = claim.task.id;
    const control = new TaskRunControl();
    // A task claimed again while this instance still winds down a run that lost its lease starts
    // once that run has ended its processes.
    const previous = this.winding.get(id) ?? Promise.resolve();
    let ended!: () => void;
    const done = new Promise<void>((resolve) => (ended = resolve));
    this.winding.set(id, done);
    this.running.set(id, control);
    this.peak = Math.max(this.peak, this.running.size);
    if (this.stopping) control.stop('shutdown');
    return from(previous).pipe(
      concatMap(() => this.runner.run(claim, control)),
      finalize(() => {
        if (this.running.get(id) === control) this.running.delete(id);
        if (this.winding.get(id) === done) this.winding.delete(id);
        ended();
        this.claimed -= 1;
        if (!this.stopping) this.wake$.next();
      }),
    );
  }

  private async pollRequests(): Promise<void> {
    const { cancel, interrupt } = await this.queue.requests([...this.running.keys()]);
    for (const id of cancel) this.running.get(id)?.stop('cancel');
    for (const id of interrupt) this.running.get(id)?.interrupt();
  }

  /** Stops a task running on this instance; false when it does not run here. */
  cancelLocal(taskId: string): boolean {
    const control = this.running.get(taskId);
    control?.stop('cancel');
    return control !== undefined;
  }

  /** True while this instance claims and runs tasks (started, not shutting down). */
  isRunning(): boolean {
    return this.started && !this.stopping;
  }

  /** This instance's lease owner id, the tasks running here now and the most that ever ran at once. */
  stats(): { owner: string; running: number; peak: number; limit: number } {
    return {
      owner: this.queue.owner,
      running: this.running.size,
      peak: this.peak,
      limit: this.config.MAX_CONCURRENT_TASKS,
    };
  }

  async onModuleDestroy(): Promise<void> {
    this.draining.start();
    if (this.stopping) return;
    this.stopping = true;
    this.stopClaiming$.next();
    for (const control of this.running.values()) control.stop('shutdown');
    const limitMs = (2 * this.config.KILL_GRACE_SECONDS + 15) * 1000;
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = await Promise.race([
      this.done.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), limitMs))),
    ]);
    clearTimeout(timer);
    if (gaveUp) {
      this.logger.error(
        `Shutdown: ${this.running.size} task(s) did not stop within ${limitMs} ms; their leases will expire and the sweep will re-queue them`,
      );
    }
    for (const subscription of this.subscriptions) subscription.unsubscribe();
    this.subscriptions = [];
  }
}
