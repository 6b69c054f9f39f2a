import { ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { constants, getPriority, setPriority } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { goneGroups } from 'src/process/gone-groups';
import { signalGroup } from 'src/process/signal-group';
import { makeSessionNicer, nicerBy } from 'src/process/session-nice';

/**
 * THE SPAWN HELPER'S CLIENT: children started by `native/spawn-helper.c` (built into
 * `build/spawn-helper` by `npm ci`), a small process that starts each with `posix_spawn` (no copy
 * of the starting process's memory) and passes its output, exit and end back over one pipe. Node's
 * own `spawn` forks the whole process host first, which cost the host 5–8 ms of CPU per child on
 * this project's machines, against 0.2 ms this way (test/bench/RESULTS.md).
 *
 * `HelperChild` has the part of `ChildProcess` that `runProcess` uses (`spawn`, `error`, `exit`
 * and `close` events, `stdout`/`stderr` streams with back pressure, `pid`, `kill`), so the same
 * guarantees hold: no shell, stdin /dev/null, the environment given and nothing else (a null byte
 * in any string is refused, as Node's spawn refuses it), a new session when asked. If the helper
 * dies, its children's groups are killed and each ends as killed by SIGKILL; the next spawn
 * starts a new helper. When the helper must end (its stdin ended: the host is gone), it kills its
 * children's groups itself; it ignores SIGINT, SIGTERM and SIGHUP, as the host does.
 */

/** The built helper, from `src/process` (ts-node) or `dist/src/process` (the build). */
export function spawnHelperPath(): string | null {
  for (const up of [
    ['..', '..'],
    ['..', '..', '..'],
  ]) {
    const path = join(__dirname, ...up, 'build', 'spawn-helper');
    if (existsSync(path)) return path;
  }
  return null;
}

const SIGNAL_NAMES = new Map<number, NodeJS.Signals>(
  Object.entries(constants.signals).map(([name, value]) => [value, name as NodeJS.Signals]),
);

const ERRNO_NAMES = new Map<number, string>(
  Object.entries(constants.errno).map(([name, value]) => [value, name]),
);

export interface HelperSpawnOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Lead a new session (`setsid`). */
  detached: boolean;
  /** Lead a new process group in the helper's session (`setpgid`); not with `detached`. */
  newGroup?: boolean;
}

/** One output stream of a child: pushes what the helper forwards, asks it to pause when full. */
class ChildStream extends Readable {
  constructor(
    private readonly onPause: (paused: boolean) => void,
    private readonly onDrop: () => void,
  ) {
    super();
  }

  private paused = false;
  private ended = false;

  deliver(chunk: Buffer): void {
    if (!this.push(chunk) && !this.paused) {
      this.paused = true;
      this.onPause(true);
    }
  }

  /** The child closed its end (or the helper gave it up): nothing more comes. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.push(null);
  }

  override _read(): void {
    if (!this.paused) return;
    this.paused = false;
    this.onPause(false);
  }

  /** Given up before it ended (its reader destroyed it): the helper closes its pipe. */
  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    if (!this.ended) this.onDrop();
    done(error);
  }
}

/** A child started through the helper: what `runProcess` uses of a `ChildProcess`. */
export class HelperChild extends EventEmitter {
  pid: number | undefined;
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  readonly stdout: ChildStream;
  readonly stderr: ChildStream;
  /** A signal asked for before the helper said the child started: sent to its group then. */
  private pendingSignal: NodeJS.Signals | null = null;

  constructor(
    private readonly command: string,
    send: (op: string, extra?: Buffer) => void,
  ) {
    super();
    const pause = (stream: number) => (paused: boolean) =>
      send(paused ? 'P' : 'R', Buffer.from([stream]));
    const drop = (stream: number) => () => send('D', Buffer.from([stream]));
    this.stdout = new ChildStream(pause(1), drop(1));
    this.stderr = new ChildStream(pause(2), drop(2));
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    if (this.pid === undefined) {
      this.pendingSignal = signal;
      return true;
    }
    if (this.exitCode !== null || this.signalCode !== null) return false;
    try {
      process.kill(this.pid, signal);
      return true;
    } catch {
      return false;
    }
  }

  failed(errno: number): void {
    const code = ERRNO_NAMES.get(errno) ?? `E${errno}`;
    this.emit('error', Object.assign(new Error(`spawn ${this.command} ${code}`), { code }));
  }

  started(pid: number): void {
    this.pid = pid;
    goneGroups.forget(pid);
    if (this.pendingSignal !== null) signalGroupAndLeader(pid, this.pendingSignal);
    this.emit('spawn');
  }

  exited(code: number | null, signal: NodeJS.Signals | null): void {
    this.exitCode = code;
    this.signalCode = signal;
    this.emit('exit', code, signal);
  }

  /**
   * The child exited and both its streams ended: `close` follows once its reader has read (or
   * dropped) what the streams still hold, as a `ChildProcess` waits for its stdio to close.
   */
  closed(): void {
    let open = 2;
    for (const stream of [this.stdout, this.stderr]) {
      if (stream.closed) open -= 1;
      else
        stream.once('close', () => {
          open -= 1;
          if (open === 0) this.emit('close', this.exitCode, this.signalCode);
        });
      stream.end();
    }
    if (open === 0) this.emit('close', this.exitCode, this.signalCode);
  }
}

/** The group the leader `pid` made (a group leader forms it once it runs), and the leader. */
function signalGroupAndLeader(pid: number, signal: NodeJS.Signals): void {
  signalGroup(pid, signal);
  try {
    process.kill(pid, signal);
  } catch {
    // Gone already.
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * Reads frames (u32 length, then that many bytes) out of a byte stream: a frame inside one chunk
 * is a view of it; one split across chunks is copied once into a buffer of its own size.
 */
class FrameReader {
  /** Bytes of a length not yet complete (fewer than 4). */
  private head: Buffer = EMPTY;
  /** The frame being filled across chunks, and how much of it is. */
  private frame: Buffer | null = null;
  private filled = 0;

  constructor(private readonly onFrame: (frame: Buffer) => void) {}

  push(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.frame === null) {
        const needed = 4 - this.head.length;
        if (chunk.length - offset < needed) {
          this.head = Buffer.concat([this.head, chunk.subarray(offset)]);
          return;
        }
        const length =
          needed === 4
            ? chunk.readUInt32LE(offset)
            : Buffer.concat([this.head, chunk.subarray(offset, offset + needed)]).readUInt32LE(0);
        this.head = EMPTY;
        offset += needed;
        if (chunk.length - offset >= length) {
          this.onFrame(chunk.subarray(offset, offset + length));
          offset += length;
          continue;
        }
        this.frame = Buffer.allocUnsafe(length);
        this.filled = 0;
      }
      const copied = chunk.copy(this.frame, this.filled, offset);
      offset += copied;
      this.filled += copied;
      if (this.filled === this.frame.length) {
        const frame = this.frame;
        this.frame = null;
        this.onFrame(frame);
      }
    }
  }
}

/** `values`, each followed by a NUL, as one string. */
function nulTerminated(values: readonly string[]): string {
  return values.length === 0 ? '' : `${values.join('\0')}\0`;
}

function u32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32LE(value);
  return buffer;
}

/** Largest start request sent: far above what exec takes (E2BIG), far below the helper's limit. */
const MAX_START_BYTES = 8 * 1024 * 1024;

/** A string the helper passes on as a C string: a NUL inside would end it early (or forge more). */
function cString(value: string, what: string): string {
  if (value.includes('\0')) {
    throw Object.assign(new TypeError(`${what} must not contain null bytes`), {
      code: 'ERR_INVALID_ARG_VALUE',
    });
  }
  return value;
}

/** One helper process and the children it started: what it reports is about these only. */
class Connection {
  readonly children = new Map<number, HelperChild>();

  constructor(readonly process: ChildProcess) {
    const reader = new FrameReader((frame) => this.receive(frame));
    process.stdout!.on('data', (chunk: Buffer) => reader.push(chunk));
    process.stdin!.on('error', () => undefined);
    // 'close', not 'exit': every frame the helper wrote has been read by then.
    process.once('close', () => this.lost());
    process.once('error', () => this.lost());
  }

  send(frame: Buffer): void {
    if (this.process.stdin?.writable) this.process.stdin.write(frame);
  }

  add(id: number, child: HelperChild): void {
    this.children.set(id, child);
    if (this.children.size === 1) this.holdLoop(true);
  }

  private forget(id: number): void {
    this.children.delete(id);
    if (this.children.size === 0) this.holdLoop(false);
  }

  private receive(frame: Buffer): void {
    if (frame.length < 5) return;
    const op = String.fromCharCode(frame[0]);
    const id = frame.readUInt32LE(1);
    const child = this.children.get(id);
    if (child === undefined) return;
    const payload = frame.subarray(5);
    switch (op) {
      case 's':
        return child.started(payload.readInt32LE(0));
      case 'f':
        this.forget(id);
        return child.failed(payload.readInt32LE(0));
      case 'o':
        return child.stdout.deliver(payload);
      case 'e':
        return child.stderr.deliver(payload);
      case 'z':
        return (payload[0] === 1 ? child.stdout : child.stderr).end();
      case 'x': {
        const code = payload.readInt32LE(0);
        const signal = payload.readInt32LE(4);
        return child.exited(code < 0 ? null : code, SIGNAL_NAMES.get(signal) ?? null);
      }
      case 'c':
        this.forget(id);
        // The helper found the child's group empty: gone for good (an empty group cannot be
        // joined again), nothing of it is left to end.
        if (payload[0] === 0 && child.pid !== undefined) goneGroups.note(child.pid);
        return child.closed();
    }
  }

  /**
   * Whether the helper keeps this process's event loop alive: while it has children, as a child
   * started by Node's spawn would; not when idle, so a process with nothing else to do can end.
   */
  private holdLoop(hold: boolean): void {
    const handles = [
      this.process,
      this.process.stdout as Socket,
      this.process.stdin as unknown as Socket,
    ];
    for (const handle of handles) {
      if (hold) handle.ref();
      else handle.unref();
    }
  }

  /** The helper went away: its children are ended, and each ends as killed. */
  private lost(): void {
    const orphans = [...this.children.values()];
    this.children.clear();
    this.holdLoop(false);
    for (const child of orphans) {
      if (child.pid === undefined) {
        child.failed(constants.errno.EPIPE);
        continue;
      }
      if (child.exitCode === null && child.signalCode === null) {
        signalGroupAndLeader(child.pid, 'SIGKILL');
        child.exited(null, 'SIGKILL');
      }
      child.closed();
    }
  }
}

/** How the helper process itself is started. */
export interface SpawnHelperOptions {
  /**
   * The helper leads a session of its own, where the children it starts with `newGroup` lead
   * their groups: a scheduling group apart from the starting process's (`group-leader.ts`).
   * Otherwise it stays in the starting process's session.
   */
  ownSession: boolean;
  /** The helper, and so every child it starts, runs this much nicer than the starting process. */
  nice: number;
}

/** Starts children through a helper process, started on first use and again after it died. */
export class SpawnHelper {
  private connection: Connection | null = null;
  private nextId = 1;

  constructor(
    private readonly path: string,
    private readonly options: SpawnHelperOptions = { ownSession: false, nice: 0 },
  ) {}

  /**
   * Starts the executable at `path` (absolute, as found on PATH) with `argv0` and `args`; the
   * child reports `spawn` or `error` (with the errno's name as `code`) when the helper answered.
   * Throws, as Node's spawn does, for a null byte in any string, and E2BIG for a request past
   * MAX_START_BYTES.
   */
  spawn(
    path: string,
    argv0: string,
    args: readonly string[],
    options: HelperSpawnOptions,
  ): HelperChild {
    const env: string[] = [];
    for (const name in options.env) {
      const value = options.env[name];
      if (value !== undefined)
        env.push(cString(`${name}=${value}`, `environment variable ${name}`));
    }
    const argv = [argv0, ...args].map((arg) => cString(arg, 'an argument'));
    // A few buffers for the whole request, not one per string: a spawn sends dozens of them.
    const request = Buffer.concat([
      Buffer.from([options.detached ? 1 : options.newGroup ? 2 : 0]),
      Buffer.from(nulTerminated([cString(path, 'the command'), cString(options.cwd, 'cwd')])),
      u32(argv.length),
      Buffer.from(nulTerminated(argv)),
      u32(env.length),
      Buffer.from(nulTerminated(env)),
    ]);
    if (request.length > MAX_START_BYTES) {
      throw Object.assign(new Error(`spawn ${argv0} E2BIG`), { code: 'E2BIG' });
    }
    const connection = this.running();
    const id = this.nextId++;
    const child = new HelperChild(argv0, (op, extra = EMPTY) =>
      connection.send(frame(op, id, extra)),
    );
    connection.add(id, child);
    connection.send(frame('S', id, request));
    return child;
  }

  /** Ends the helper (its stdin closes: it kills what is left of its children and exits). */
  stop(): void {
    this.connection?.process.stdin?.end();
    this.connection = null;
  }

  private running(): Connection {
    if (this.connection !== null) return this.connection;
    const helper = spawn(this.path, [], {
      stdio: ['pipe', 'pipe', 'inherit'],
      detached: this.options.ownSession,
    });
    // Before the first request is written, so every child inherits it.
    if (this.options.nice > 0 && helper.pid !== undefined) {
      try {
        setPriority(helper.pid, nicerBy(getPriority(), this.options.nice));
      } catch {
        // Gone already: its connection reports that.
      }
      // Its session is a scheduling group of its own: that much nicer than this one's as well.
      if (this.options.ownSession) makeSessionNicer(helper.pid, 'self', this.options.nice);
    }
    const connection = new Connection(helper);
    // 'error' too: a helper that could not start (not executable) never emits 'exit'.
    const gone = () => {
      if (this.connection === connection) this.connection = null;
    };
    helper.once('exit', gone);
    helper.once('error', gone);
    this.connection = connection;
    return connection;
  }
}

function frame(op: string, id: number, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(9 + payload.length);
  out.writeUInt32LE(5 + payload.length, 0);
  out.write(op, 4, 1, 'latin1');
  out.writeUInt32LE(id, 5);
  payload.copy(out, 9);
  return out;
}
