import { ChildProcess, fork } from 'node:child_process';
import { Injectable, Logger, OnModuleDestroy, Optional } from '@nestjs/common';
import { Observable, Subscriber } from 'rxjs';
import { TurnTakingQueue } from 'src/common';
import { AppConfig } from 'src/config';
import { hostEntry } from 'src/process/host/host-entry';
import { HostCommand, HostEvent, SHUTDOWN_GRACE_MS } from 'src/process/host/host-protocol';
import { LocalChildren } from 'src/process/local-children';
import { ProcessEvent, ProcessSpec, SpawnError } from 'src/process/process-group';
import { spawnHelperPath } from 'src/process/spawn-helper';

interface Run {
  subscriber: Subscriber<ProcessEvent>;
  command: string;
  ended: boolean;
  /** Started by this process's own spawn helper (`local-children.ts`), not by the host. */
  local: boolean;
}

/**
 * WHERE CHILD PROCESSES ARE STARTED: every child of the server (agent turns, test commands, git)
 * is started without fork or exec on the server's event loop: by the server's own spawn helper
 * (`local-children.ts`) where that was built, else (and for children that run as another user,
 * RUN_AS_USER, which `posix_spawn` cannot do) by the process host (`host/process-host.ts`), a
 * small process forked once. The host supervises both kinds by lease. Events are delivered one
 * per turn of the loop, in order, so a burst of them cannot hold the loop
 * (`turn-taking-queue.ts`). Children run in a scheduling group (a session: the helper's or the
 * host's) apart from the server's, they and that group CHILD_NICE steps nicer than the server
 * (`session-nice.ts`), so the server's own work goes first on a busy machine.
 * `run` has the contract of `runProcess`: a cold Observable of `spawned`, output and `exit`
 * events; unsubscribing ends the child's process group; a command that cannot start errors with
 * a `SpawnError`.
 *
 * `supervise(dir, killAtMs)` tells the host to end everything working in `dir` once `killAtMs`
 * (on `machineMonotonicMs`) passes unless renewed: the lease of the task working there (see the orchestrator's lease
 * renewal). It holds even while this process is frozen. If the host dies, the runs it carried end
 * as killed (`SIGKILL`) and the next run forks a new host. `release(dir)` lets go of it, and the
 * host ends, shortly after, what escaped from it (`setsid`, `setpgid`).
 */
@Injectable()
export class ProcessLauncher implements OnModuleDestroy {
  private readonly logger = new Logger(ProcessLauncher.name);
  private host: ChildProcess | null = null;
  /** The children started through this process's own spawn helper; null where it is not built. */
  private local: LocalChildren | null | undefined;
  private readonly runs = new Map<number, Run>();
  /** `endEscaped` requests the host has not answered yet, by request id. */
  private readonly escapeRequests = new Map<number, (pids: number[]) => void>();
  /** The children's events (either way started), one per turn of the loop (`turn-taking-queue.ts`). */
  private readonly deliveries = new TurnTakingQueue();
  private nextId = 1;
  private closed = false;
  /** CHILD_NICE: the host (and so every child) runs this much nicer than the server. */
  private readonly nice: number;

  constructor(@Optional() config?: AppConfig) {
    this.nice = config?.CHILD_NICE ?? 0;
  }

  run(spec: ProcessSpec): Observable<ProcessEvent> {
    return new Observable<ProcessEvent>((subscriber) => {
      const id = this.nextId++;
      const local = this.closed || spec.isolation.identity !== null ? null : this.localChildren();
      const run: Run = {
        subscriber,
        command: spec.command,
        ended: false,
        local: local !== null,
      };
      this.runs.set(id, run);
      const spawn: Extract<HostCommand, { type: 'spawn' }> = {
        type: 'spawn',
        id,
        command: spec.command,
        args: spec.args,
        cwd: spec.cwd,
        env: spec.env,
        killGraceMs: spec.killGraceMs,
        isolation: spec.isolation,
        writable: spec.writable,
        readable: spec.readable,
        cliHome: spec.cliHome,
      };
      if (this.closed) this.fail(id, 'the server is shutting down');
      else if (local !== null) local.spawn(spawn);
      else this.sendCommand(spawn);
      return () => {
        if (!run.ended) {
          if (run.local) this.local?.stop(id);
          else this.sendCommand({ type: 'stop', id });
        }
        this.forget(id);
      };
    });
  }

  /** Processes working in `dir` are ended by the host at `killAtMs` unless this is called again. */
  supervise(dir: string, killAtMs: number, killGraceMs: number): void {
    this.sendCommand({ type: 'supervise', dir, killAtMs, killGraceMs });
  }

  /**
   * `dir` is not supervised any more: the host then ends its processes that left the server's
   * sessions (`host/escaped-processes.ts`). Should the host have died meanwhile, a new one is
   * forked for that: the processes of `dir` that were in the dead host's session are not in the
   * server's sessions any more, and end too.
   */
  release(dir: string): void {
    this.sendCommand({ type: 'release', dir });
  }

  /**
   * Has the host end, now, the processes marked with `dir` that left the server's running
   * children (`host/escaped-processes.ts`: a background job the agent started with `setsid`),
   * while `dir` stays supervised; resolves with their pids once they are gone. The look through
   * /proc is the host's, off the server's event loop. A host that dies first answers none.
   */
  endEscaped(dir: string, killGraceMs: number): Promise<number[]> {
    if (this.closed) return Promise.resolve([]);
    const request = this.nextId++;
    return new Promise((resolve) => {
      this.escapeRequests.set(request, resolve);
      this.sendCommand({ type: 'end_escaped', request, dir, killGraceMs });
    });
  }

  /**
   * Ends the children started here, then closes the channel: the host ends whatever still runs
   * and exits.
   */
  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    await this.local?.shutdown(SHUTDOWN_GRACE_MS);
    const host = this.host;
    if (host === null) return;
    const exited = new Promise<void>((resolve) => host.once('exit', () => resolve()));
    host.disconnect();
    await exited;
  }

  private sendCommand(command: HostCommand): void {
    if (this.closed) return;
    const host = this.ensureHost();
    host.send(command);
    this.refWhileBusy(host);
  }

  /** The children started through this process's own spawn helper, or null where it is not built. */
  private localChildren(): LocalChildren | null {
    if (this.local !== undefined) return this.local;
    const path = spawnHelperPath();
    if (path === null) {
      this.logger.warn(
        "build/spawn-helper is not built (npm ci builds it with a C compiler): the process host starts children with Node's spawn, at several ms more CPU per child",
      );
    }
    this.local =
      path === null
        ? null
        : new LocalChildren(
            path,
            this.nice,
            (event, delivered) =>
              this.deliveries.push(() => {
                this.onEvent(event);
                delivered();
              }),
            (pgid, dir) => this.sendCommand({ type: 'adopt', pgid, dir }),
          );
    return this.local;
  }

  private ensureHost(): ChildProcess {
    if (this.host !== null) return this.host;
    const { script, execArgv } = hostEntry();
    const host = fork(script, [String(this.nice)], {
      execArgv,
      serialization: 'advanced',
      // A session, and so a scheduling group, of its own, shared with its children: apart from
      // the server's (`group-leader.ts`).
      detached: true,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { PATH: process.env.PATH, TS_NODE_PROJECT: process.env.TS_NODE_PROJECT },
    });
    host.on('message', (event: HostEvent) => this.deliveries.push(() => this.onEvent(event)));
    host.once('exit', (code, signal) => {
      if (this.host === host) this.host = null;
      if (!this.closed) {
        this.logger.error(
          `process host exited (${signal ?? `code ${String(code)}`}); its running children are reported killed`,
        );
      }
      // The runs it carried, after the events it sent before it exited.
      const carried = [...this.runs].flatMap(([id, run]) => (run.local ? [] : [id]));
      const asked = [...this.escapeRequests.keys()];
      this.deliveries.push(() => {
        carried.forEach((id) => this.killed(id));
        asked.forEach((request) => this.answerEscaped(request, []));
      });
    });
    this.host = host;
    // A host forked again (the last one died) learns of the children running here.
    for (const { pgid, dir } of this.local?.groups() ?? []) {
      host.send({ type: 'adopt', pgid, dir } satisfies HostCommand);
    }
    return host;
  }

  /** The channel keeps this process alive only while something runs through it. */
  private refWhileBusy(host: ChildProcess): void {
    if (this.runs.size > 0) {
      host.ref();
      host.channel?.ref();
    } else {
      host.unref();
      host.channel?.unref();
    }
  }

  private onEvent(event: HostEvent): void {
    if (event.type === 'escaped_now') {
      this.answerEscaped(event.request, event.pids);
      return;
    }
    if (event.type === 'expired' || event.type === 'escaped') {
      this.reportEnded(event);
      return;
    }
    const run = this.runs.get(event.id);
    if (run !== undefined) this.deliver(run, event);
  }

  private answerEscaped(request: number, pids: number[]): void {
    const resolve = this.escapeRequests.get(request);
    this.escapeRequests.delete(request);
    resolve?.(pids);
  }

  /** What the host ended on its own: a directory whose lease ran out, or processes that escaped. */
  private reportEnded(event: Extract<HostEvent, { type: 'expired' | 'escaped' }>): void {
    this.logger.warn(
      event.type === 'expired'
        ? `lease of ${event.dir} ran out before it was renewed: the process host ended ${event.pids.length} process(es) working there`
        : `${event.pids.length} process(es) started in ${event.dir} left their process groups and outlived their task's run: the process host ended them (pids ${event.pids.join(', ')})`,
    );
  }

  private deliver(
    run: Run,
    event: Exclude<HostEvent, { type: 'expired' | 'escaped' | 'escaped_now' }>,
  ): void {
    switch (event.type) {
      case 'spawned':
        run.subscriber.next({ type: 'spawned', pid: event.pid });
        return;
      case 'stdout':
      case 'stderr':
        run.subscriber.next({ type: event.type, chunk: Buffer.from(event.chunk) });
        return;
      case 'exit':
        run.subscriber.next({ type: 'exit', code: event.code, signal: event.signal });
        return;
      case 'spawn_error':
        run.ended = true;
        run.subscriber.error(new SpawnError(event.code, run.command, event.message));
        this.forget(event.id);
        return;
      case 'end':
        run.ended = true;
        run.subscriber.complete();
        this.forget(event.id);
        return;
    }
  }

  /** The host died under a run: it ends as a child killed by SIGKILL would. */
  private killed(id: number): void {
    const run = this.runs.get(id);
    if (run === undefined) return;
    run.ended = true;
    run.subscriber.next({ type: 'exit', code: null, signal: 'SIGKILL' });
    run.subscriber.complete();
    this.forget(id);
  }

  private fail(id: number, message: string): void {
    const run = this.runs.get(id);
    if (run === undefined) return;
    run.ended = true;
    run.subscriber.error(new SpawnError('ESHUTDOWN', run.command, message));
    this.forget(id);
  }

  private forget(id: number): void {
    this.runs.delete(id);
    if (this.host !== null) this.refWhileBusy(this.host);
  }
}
