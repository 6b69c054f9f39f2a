import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireSqliteLock, DatabaseInUseError } from 'src/database/sqlite-file-lock';

/** The process's state letter from /proc/<pid>/stat. */
const stateOf = (pid: number): string => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
};

const startedOf = (pid: number): string => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
};

describe('acquireSqliteLock', () => {
  let dir: string;
  let parent: ChildProcess | null = null;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'cta-sqlite-lock-'))));
  afterEach(() => {
    parent?.kill('SIGKILL');
    parent = null;
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * A process that ended and was never reaped: its parent execs a program that never waits. The
   * child ends only once its parent is that program (a child that ended first could be reaped by
   * the shell before its exec).
   */
  async function zombie(): Promise<number> {
    const child = 'while read -r c < /proc/$$/comm && [ "$c" != sleep ]; do :; done';
    parent = spawn('sh', ['-c', `(${child}) & echo $!; exec sleep 60`], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const pid = await new Promise<number>((resolve) =>
      parent!.stdout!.once('data', (chunk: Buffer) => resolve(Number(String(chunk).trim()))),
    );
    while (stateOf(pid) !== 'Z') await new Promise((resolve) => setTimeout(resolve, 10));
    return pid;
  }

  it('takes over a lock whose server is a zombie (killed, not reaped yet)', async () => {
    const pid = await zombie();
    const db = join(dir, 'tasks.db');
    writeFileSync(`${db}.lock`, JSON.stringify({ pid, started: startedOf(pid) }));
    const release = acquireSqliteLock(db);
    expect(JSON.parse(readFileSync(`${db}.lock`, 'utf8'))).toMatchObject({ pid: process.pid });
    release();
  });

  it("refuses while another process holds the kernel's lock, though its pid is not to be seen; takes it once that process is gone", async () => {
    const db = join(dir, 'tasks.db');
    // Another server, as one in another container is seen from here: no pid in `.lock`.
    const holder = [
      "const Database = require('better-sqlite3');",
      'const db = new Database(process.argv[1]);',
      "db.pragma('locking_mode = EXCLUSIVE');",
      "db.exec('BEGIN EXCLUSIVE');",
      "process.stdout.write('held');",
      'setInterval(() => {}, 1000);',
    ].join('\n');
    parent = spawn(process.execPath, ['-e', holder, `${db}.server-lock`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise((resolve) => parent!.stdout!.once('data', resolve));
    expect(() => acquireSqliteLock(db)).toThrow(
      new DatabaseInUseError(
        `${db} is used by another server (a process this one cannot see, in another container?); a SQLite database serves one server process: run several instances on MySQL/MariaDB`,
      ),
    );
    const exited = new Promise((resolve) => parent!.once('exit', resolve));
    parent.kill('SIGKILL');
    await exited;
    const release = acquireSqliteLock(db);
    expect(JSON.parse(readFileSync(`${db}.lock`, 'utf8'))).toMatchObject({ pid: process.pid });
    release();
  });

  it('refuses a lock whose server runs', () => {
    const db = join(dir, 'tasks.db');
    parent = spawn('sleep', ['60'], { stdio: 'ignore' });
    const pid = parent.pid!;
    writeFileSync(`${db}.lock`, JSON.stringify({ pid, started: startedOf(pid) }));
    expect(() => acquireSqliteLock(db)).toThrow(DatabaseInUseError);
  });
});
