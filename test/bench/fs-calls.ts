/**
 * What the server's process pays, in CPU (user + system, every thread: libuv's thread pool too),
 * for one small file-system look made synchronously against the same look through `fs.promises`
 * (the thread pool), for reading the server's environment to build a child's, and for listing a
 * small directory entry by entry against at once. A task makes
 * dozens of such looks (the repository lock, the worktree's `.git` file and refs, file stamps,
 * real paths; ARCHITECTURE "Small file-system looks without the thread pool") and builds an
 * environment per spawn.
 *
 * Each figure is the process's CPU time over `calls` calls, one after the other (the next starts
 * when the last one ended, as in the server's code), after a warm-up; three runs, min / median /
 * max.
 *
 *   TS_NODE_PROJECT=tsconfig.json npx ts-node -r tsconfig-paths/register --transpile-only \
 *     test/bench/fs-calls.ts [calls=5000]
 *
 * Recorded output: test/bench/RESULTS.md.
 */
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  opendirSync,
  promises as fsp,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { smallDirectoryEntries } from 'src/common/small-directory';
import { wholeArg } from 'test/bench/support/args';
import { spread } from 'test/bench/support/stats';

type Call = () => unknown;

/** CPU µs per call of `call`, awaited one after the other. */
async function cpuPerCall(call: Call, calls: number): Promise<number> {
  for (let i = 0; i < Math.min(500, calls); i += 1) await call();
  const before = process.cpuUsage();
  for (let i = 0; i < calls; i += 1) await call();
  const spent = process.cpuUsage(before);
  return (spent.user + spent.system) / calls;
}

async function main(): Promise<void> {
  const calls = wholeArg(1, 'calls', 5000);
  const dir = mkdtempSync(join(tmpdir(), 'cta-fs-calls-'));
  const file = join(dir, 'lock');
  writeFileSync(file, 'x'.repeat(200));
  const missing = join(dir, 'missing');
  const pairs: [string, Call, Call][] = [
    ['lstat', () => lstatSync(file), () => fsp.lstat(file)],
    ['read a 200-byte file', () => readFileSync(file, 'utf8'), () => fsp.readFile(file, 'utf8')],
    ['realpath', () => realpathSync.native(file), () => fsp.realpath(file)],
    [
      'a path that is not there',
      () => existsSync(missing),
      () => fsp.access(missing).catch(() => false),
    ],
  ];
  console.log(`Node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'})`);
  console.log(
    `${calls} calls per figure, ${Object.keys(process.env).length} environment variables\n`,
  );
  console.log('| call | synchronous (µs) | fs.promises (µs) |');
  console.log('|---|---|---|');
  try {
    for (const [name, sync, promised] of pairs) {
      const syncRuns: number[] = [];
      const promisedRuns: number[] = [];
      for (let run = 0; run < 3; run += 1) {
        syncRuns.push(await cpuPerCall(sync, calls));
        promisedRuns.push(await cpuPerCall(promised, calls));
      }
      console.log(`| ${name} | ${spread(syncRuns, 1)} | ${spread(promisedRuns, 1)} |`);
    }
    await listings(dir, calls);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const env = process.env;
  const entries: number[] = [];
  const keys: number[] = [];
  for (let run = 0; run < 3; run += 1) {
    entries.push(await cpuPerCall(() => Object.entries(env), calls));
    keys.push(await cpuPerCall(() => Object.keys(env), calls));
  }
  console.log(
    `\nreading process.env: every name and value (Object.entries) ${spread(entries, 1)} µs, the names only (Object.keys) ${spread(keys, 1)} µs`,
  );
}

/** The names of the directory `path`, read entry by entry. */
function namesByEntry(path: string): string[] {
  const dir = opendirSync(path);
  const names: string[] = [];
  try {
    for (let entry = dir.readSync(); entry !== null; entry = dir.readSync()) names.push(entry.name);
  } finally {
    dir.closeSync();
  }
  return names;
}

/**
 * Listing a directory of five files (the size of a git directory's `hooks/`, a report directory):
 * entry by entry through `opendirSync`, against at once (`smallDirectoryEntries`: its `stat` size,
 * then one `readdirSync`).
 */
async function listings(base: string, calls: number): Promise<void> {
  const listed = join(base, 'listed');
  mkdirSync(listed);
  for (let i = 0; i < 5; i += 1) writeFileSync(join(listed, `file-${i}`), '');
  const byEntry: number[] = [];
  const atOnce: number[] = [];
  for (let run = 0; run < 3; run += 1) {
    byEntry.push(await cpuPerCall(() => namesByEntry(listed), calls));
    atOnce.push(
      await cpuPerCall(() => smallDirectoryEntries(listed, statSync(listed).size), calls),
    );
  }
  console.log(
    `\nlisting a directory of 5 files: entry by entry (opendirSync) ${spread(byEntry, 1)} µs, at once (stat and readdirSync) ${spread(atOnce, 1)} µs`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
