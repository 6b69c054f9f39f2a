import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnModuleDestroy,
  Optional,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Worker } from 'node:worker_threads';
import { Observable, Subject } from 'rxjs';
import { DataSource } from 'typeorm';

/**
 * When the worker checkpoints. A checkpoint copies every page the WAL changed since the last one
 * into the database file and syncs both files; a running task's row and its records' pages change
 * several times a second, and a checkpoint copies each of them once however often it changed. So
 * while writes are few it checkpoints every second (every 200 ms, the worker's CPU per task was
 * 2.1–2.7 ms; every second, 0.6: test/bench/RESULTS.md). When a checkpoint finds the WAL grew by
 * `busyFramesPerSecond` or more since the one before (a burst: 200 tasks ending their turns
 * together), the next comes after 200 ms: in the 200-task run the WAL reached 7–8 MB this way,
 * 18–23 MB with a checkpoint every second, 4 MB with one every 200 ms.
 */
export interface CheckpointSchedule {
  /** The wait after a checkpoint that found the WAL growing slower than `busyFramesPerSecond`. */
  quietMs: number;
  /** The wait after one that found it growing faster, and before the first. */
  busyMs: number;
  /** WAL frames (pages) per second since the last checkpoint. */
  busyFramesPerSecond: number;
}

export const DEFAULT_CHECKPOINT_SCHEDULE: CheckpointSchedule = {
  quietMs: 1000,
  busyMs: 200,
  busyFramesPerSecond: 1000,
};

/**
 * Injection token for another `CheckpointSchedule`: nothing provides it, so Nest leaves the
 * default; a test passes its schedule to the constructor.
 */
export const CHECKPOINT_SCHEDULE = Symbol('CHECKPOINT_SCHEDULE');

/**
 * WAL pages past which the server's own connection still checkpoints (SQLite's default is 1000):
 * the bound on the WAL should the worker fall behind or fail.
 */
const FALLBACK_CHECKPOINT_PAGES = 8000;

/** One checkpoint as `PRAGMA wal_checkpoint(PASSIVE)` tells it, or why it failed. */
export type WalCheckpointReport =
  | {
      ok: true;
      /** 1 when another checkpoint was running (and the counts are -1). */
      busy: number;
      /** Frames in the WAL. */
      log: number;
      /** Frames of the WAL copied into the database file. */
      checkpointed: number;
    }
  | { ok: false; error: string };

interface WorkerData {
  /** better-sqlite3's path, resolved here: the worker's code is evaluated, not loaded from a file. */
  driver: string;
  file: string;
  schedule: CheckpointSchedule;
}

/**
 * The worker's code: plain JavaScript evaluated in the thread, so it starts without compiling
 * TypeScript whether the server runs built or under ts-node. On a connection of its own (which
 * never waits for a lock: a checkpoint that cannot have one now is tried at the next one) it runs
 * a PASSIVE checkpoint when its `schedule` says and posts the outcome, a failure too (a full disk,
 * say): it goes on. A message stops it and closes the connection.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const { quietMs, busyMs, busyFramesPerSecond } = workerData.schedule;
const db = new Database(workerData.file, { fileMustExist: true, timeout: 0 });
let last = Date.now();
let lastLog = 0;
let copiedAll = false;
const checkpoint = () => {
  const seconds = Math.max(0.001, (Date.now() - last) / 1000);
  last = Date.now();
  let report;
  try {
    report = { ok: true, ...db.pragma('wal_checkpoint(PASSIVE)')[0] };
  } catch (error) {
    report = { ok: false, error: String(error && error.message) };
  }
  parentPort.postMessage(report);
  // \`log\` counts the WAL's frames since it last started over, which it does at the first write
  // after a checkpoint that copied all of it: then all of them came since that checkpoint (the
  // same count as then: no write came), else what it grew by. A failed checkpoint, or one that
  // found another running (log -1), tells nothing and changes nothing.
  let grown = 0;
  if (report.ok && report.log >= 0) {
    const log = report.log;
    grown = copiedAll && log !== lastLog ? log : Math.max(0, log - lastLog);
    lastLog = log;
    copiedAll = report.checkpointed === log;
  }
  const busy = grown >= busyFramesPerSecond * seconds;
  timer = setTimeout(checkpoint, busy ? busyMs : quietMs);
};
let timer = setTimeout(checkpoint, busyMs);
parentPort.once('message', () => {
  clearTimeout(timer);
  db.close();
  parentPort.close();
});
`;

/**
 * SQLITE CHECKPOINTS OFF THE EVENT LOOP. In WAL mode a commit that finds the WAL past
 * `wal_autocheckpoint` pages copies it into the database file and syncs it, inside that commit,
 * on the server's one connection: a 10-20 ms stall of the event loop every thousand pages (every
 * couple of seconds with 200 tasks streaming). Instead a worker thread checkpoints on a connection
 * of its own (every second, every 200 ms while writes come fast: `CheckpointSchedule`), and the
 * server's connection only past FALLBACK_CHECKPOINT_PAGES. Nothing for MySQL.
 *
 * A PASSIVE checkpoint never blocks the server's writes. The WAL starts over at the first write
 * after a checkpoint that copied all of it; under writes without a pause it cannot, and the
 * fallback checkpoint in a commit bounds it. A failed checkpoint is logged once until one works
 * again; a worker that dies is logged and not restarted: the fallback keeps the WAL bounded.
 */
@Injectable()
export class SqliteCheckpointer implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('SqliteCheckpointer');
  private readonly reports = new Subject<WalCheckpointReport>();
  private worker: Worker | null = null;
  private failing = false;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Optional()
    @Inject(CHECKPOINT_SCHEDULE)
    private readonly schedule: CheckpointSchedule = DEFAULT_CHECKPOINT_SCHEDULE,
  ) {}

  /** Every checkpoint the worker makes or fails to make. */
  get checkpoints$(): Observable<WalCheckpointReport> {
    return this.reports.asObservable();
  }

  async onApplicationBootstrap(): Promise<void> {
    const { options } = this.dataSource;
    if (options.type !== 'better-sqlite3') return;
    await this.dataSource.query(`PRAGMA wal_autocheckpoint = ${FALLBACK_CHECKPOINT_PAGES}`);
    const workerData: WorkerData = {
      driver: require.resolve('better-sqlite3'),
      file: options.database,
      schedule: this.schedule,
    };
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData });
    worker.unref();
    worker.on('message', (report: WalCheckpointReport) => this.record(report));
    worker.on('error', (error) => {
      this.logger.warn(
        `WAL checkpoints are left to the server's connection (every ${FALLBACK_CHECKPOINT_PAGES} pages): ${error.message}`,
      );
    });
    worker.once('exit', () => {
      if (this.worker === worker) this.worker = null;
    });
    this.worker = worker;
  }

  private record(report: WalCheckpointReport): void {
    if (!report.ok && !this.failing) {
      this.logger.warn(
        `a WAL checkpoint failed; tried again in ${this.schedule.quietMs} ms: ${report.error}`,
      );
    } else if (report.ok && this.failing) {
      this.logger.log('WAL checkpoints work again');
    }
    this.failing = !report.ok;
    this.reports.next(report);
  }

  /** Stops the worker and waits until it closed its connection. */
  async onModuleDestroy(): Promise<void> {
    const worker = this.worker;
    if (worker !== null) {
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      // Held while it stops: a process with nothing else left to do would otherwise end here.
      worker.ref();
      worker.postMessage('stop');
      await exited;
    }
    this.reports.complete();
  }
}
