import { randomUUID } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from 'src/config';
import { NO_ISOLATION } from 'src/process';
import { GitConfigCopies } from 'src/workspaces/git-config-copies';
import { fileValue, GitConfigFingerprint } from 'src/workspaces/git-config-fingerprint';
import { WorkspaceRoot } from 'src/workspaces/workspace-root';

describe('GitConfigCopies', () => {
  let dir: string;
  let workspaces: string;
  const opened: GitConfigCopies[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cta-copies-'));
    workspaces = join(dir, 'workspaces');
  });

  afterEach(() => {
    for (const copies of opened.splice(0)) copies.onModuleDestroy();
    rmSync(dir, { recursive: true, force: true });
  });

  const open = (): GitConfigCopies => {
    const copies = new GitConfigCopies(
      new WorkspaceRoot(loadConfig({ WORKSPACES_DIR: workspaces }), NO_ISOLATION),
    );
    opened.push(copies);
    return copies;
  };

  const config = Buffer.from('[remote "origin"]\n\turl = https://user:token@example.com/r.git\n');
  /** What a task's copies are kept for. */
  const fingerprintOf = (task: string): GitConfigFingerprint => ({
    worktree: `worktrees/${task}`,
    copies: task,
    paths: { config: fileValue(config), 'hooks/pre-commit': 'link:/bin/true' },
  });

  it("keeps a task's files by their hash, and its fingerprint, private to the server, reads them back and forgets them", () => {
    const copies = open();
    const task = randomUUID();
    expect(copies.keep(task, [config], fingerprintOf(task))).toBe(true);
    const kept = join(workspaces, '.git-config-copies', task);
    const hash = fileValue(config).slice('file:'.length);
    expect(readdirSync(kept).sort()).toEqual([hash, 'fingerprint.json'].sort());
    expect(statSync(join(workspaces, '.git-config-copies')).mode & 0o777).toBe(0o700);
    for (const name of readdirSync(kept)) {
      expect(statSync(join(kept, name)).mode & 0o777).toBe(0o600);
    }
    expect(copies.read(task, fileValue(config))).toEqual(config);
    expect(copies.read(task, fileValue(Buffer.from('other')))).toBeNull();
    expect(copies.read(randomUUID(), fileValue(config))).toBeNull();
    expect(copies.fingerprint(task)).toEqual(fingerprintOf(task));
    expect(copies.fingerprint(randomUUID())).toBeNull();
    copies.forget(task);
    expect(existsSync(kept)).toBe(false);
    expect(copies.read(task, fileValue(config))).toBeNull();
    expect(copies.fingerprint(task)).toBeNull();
  });

  it('reads back the fingerprint it kept last, and none through a link put in its place', () => {
    const copies = open();
    const task = randomUUID();
    copies.keep(task, [config], { ...fingerprintOf(task), paths: {} });
    copies.keep(task, [config], fingerprintOf(task));
    expect(copies.fingerprint(task)).toEqual(fingerprintOf(task));
    const kept = join(workspaces, '.git-config-copies', task, 'fingerprint.json');
    const elsewhere = join(dir, 'elsewhere.json');
    writeFileSync(elsewhere, JSON.stringify({ worktree: null, paths: {} }));
    rmSync(kept);
    symlinkSync(elsewhere, kept);
    expect(copies.fingerprint(task)).toBeNull();
  });

  it('reads back no copy whose content no longer has its hash', () => {
    const copies = open();
    const task = randomUUID();
    copies.keep(task, [config], fingerprintOf(task));
    const name = fileValue(config).slice('file:'.length);
    writeFileSync(join(workspaces, '.git-config-copies', task, name), '[filter "x"]\n');
    expect(copies.read(task, fileValue(config))).toBeNull();
  });

  it('keeps writing into the directory it opened, never through a link put in its place', () => {
    const copies = open();
    const elsewhere = join(dir, 'elsewhere');
    mkdirSync(elsewhere);
    const moved = join(dir, 'moved');
    renameSync(join(workspaces, '.git-config-copies'), moved);
    symlinkSync(elsewhere, join(workspaces, '.git-config-copies'));
    const task = randomUUID();
    expect(copies.keep(task, [config], fingerprintOf(task))).toBe(true);
    expect(readdirSync(elsewhere)).toEqual([]);
    expect(readdirSync(moved)).toEqual([task]);
  });

  it('keeps nothing when its directory is not a directory of its own (a link someone put there)', () => {
    mkdirSync(workspaces);
    const elsewhere = join(dir, 'elsewhere');
    mkdirSync(elsewhere, { mode: 0o700 });
    symlinkSync(elsewhere, join(workspaces, '.git-config-copies'));
    const copies = open();
    const task = randomUUID();
    expect(copies.keep(task, [config], fingerprintOf(task))).toBe(false);
    expect(copies.fingerprint(task)).toBeNull();
    expect(copies.read(task, fileValue(config))).toBeNull();
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  it('refuses what is not a task id', () => {
    expect(() => open().keep('../x', [config], fingerprintOf(randomUUID()))).toThrow(
      'not a task id',
    );
  });
});
