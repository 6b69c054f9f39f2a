import { execFileSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  changedGitConfigPaths,
  fileValue,
  GitConfigFingerprint,
  MAX_FINGERPRINT_PATHS,
  takeGitConfigFingerprint,
  unreadPaths,
} from 'src/workspaces/git-config-fingerprint';

const print = (paths: Record<string, string>, worktree: string | null = null) => ({
  worktree,
  paths,
});

describe('changedGitConfigPaths', () => {
  const before = print({
    config: 'file:aa',
    hooks: 'directory',
    'hooks/pre-commit.sample': 'file:bb',
    info: 'directory',
    'info/exclude': 'file:cc',
  });

  it('is empty for the same fingerprint', () => {
    expect(changedGitConfigPaths(before, print({ ...before.paths }))).toEqual([]);
  });

  it.each<[string, Record<string, string>, string[]]>([
    ['a changed file', { ...before.paths, config: 'file:dd' }, ['config']],
    [
      'an added hook',
      { ...before.paths, 'hooks/post-checkout': 'file:ee' },
      ['hooks/post-checkout'],
    ],
    [
      'a removed file',
      Object.fromEntries(Object.entries(before.paths).filter(([p]) => p !== 'info/exclude')),
      ['info/exclude'],
    ],
    ['a file made a link', { ...before.paths, config: 'link:/tmp/evil' }, ['config']],
    [
      'an added worktree configuration',
      { ...before.paths, 'worktrees/t/config.worktree': 'file:ff' },
      ['worktrees/t/config.worktree'],
    ],
    [
      'several, sorted',
      { ...before.paths, 'info/attributes': 'file:11', config: 'file:22' },
      ['config', 'info/attributes'],
    ],
  ])('names %s', (_, after, changed) => {
    expect(changedGitConfigPaths(before, print(after))).toEqual(changed);
  });

  it('counts a path past the bounds as changed, even one that was so before', () => {
    const big = print({ ...before.paths, 'hooks/pre-push': 'too_large' });
    expect(changedGitConfigPaths(big, big)).toEqual(['hooks/pre-push']);
    expect(
      changedGitConfigPaths(before, print({ ...before.paths, hooks: 'too_many_entries' })),
    ).toEqual(['hooks']);
  });
});

describe('unreadPaths', () => {
  it('names the paths past the bounds', () => {
    const fingerprint: GitConfigFingerprint = print({
      config: 'file:aa',
      'hooks/big': 'too_large',
      info: 'too_many_entries',
    });
    expect(unreadPaths(fingerprint)).toEqual(['hooks/big', 'info']);
  });
});

describe('takeGitConfigFingerprint on a git directory', () => {
  let root: string;
  let gitDir: string;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'cta-git-config-'));
    execFileSync('git', ['init', '-q', root], { env: { PATH: process.env.PATH, HOME: root } });
    gitDir = join(root, '.git');
  });

  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const take = async (worktree: string | null = null) =>
    (await takeGitConfigFingerprint(gitDir, worktree)).fingerprint;

  it("holds the configuration, every hook and every info file, and nothing else of git's", async () => {
    writeFileSync(join(gitDir, 'hooks', 'post-merge'), '#!/bin/sh\n');
    const { paths } = await take();
    expect(paths.config).toMatch(/^file:[0-9a-f]{64}$/);
    expect(paths['info/exclude']).toMatch(/^file:/);
    expect(paths.hooks).toBe('directory');
    expect(Object.keys(paths).filter((p) => p.startsWith('hooks/'))).toEqual(['hooks/post-merge']);
    expect(Object.keys(paths).every((p) => /^(config|hooks|info)(\/|$)/.test(p))).toBe(true);
  });

  it("passes over git init's sample hooks, which never run, and sees one renamed to run", async () => {
    const samples = readdirSync(join(gitDir, 'hooks')).filter((name) => name.endsWith('.sample'));
    expect(samples).toContain('pre-commit.sample');
    const before = await take();
    writeFileSync(join(gitDir, 'hooks', 'pre-push.sample'), '#!/bin/sh\nexit 1\n');
    expect(changedGitConfigPaths(before, await take())).toEqual([]);
    renameSync(join(gitDir, 'hooks', 'pre-commit.sample'), join(gitDir, 'hooks', 'pre-commit'));
    expect(changedGitConfigPaths(before, await take())).toEqual(['hooks/pre-commit']);
  });

  it.each<[string, () => void, string]>([
    [
      'a filter set in config',
      () => appendConfig('[filter "x"]\n\tclean = touch /tmp/pwned\n'),
      'config',
    ],
    [
      'a hook dropped',
      () => writeFileSync(join(gitDir, 'hooks', 'post-merge'), '#!/bin/sh\n'),
      'hooks/post-merge',
    ],
    [
      'info/attributes',
      () => writeFileSync(join(gitDir, 'info', 'attributes'), '* filter=x\n'),
      'info/attributes',
    ],
    [
      'a shared config.worktree',
      () => writeFileSync(join(gitDir, 'config.worktree'), ''),
      'config.worktree',
    ],
    [
      'hooks made a link',
      () => {
        rmSync(join(gitDir, 'hooks'), { recursive: true });
        symlinkSync('/tmp', join(gitDir, 'hooks'));
      },
      'hooks',
    ],
  ])('sees %s', async (_, change, path) => {
    const before = await take();
    change();
    expect(changedGitConfigPaths(before, await take())).toContain(path);
  });

  function appendConfig(text: string): void {
    writeFileSync(join(gitDir, 'config'), text, { flag: 'a' });
  }

  it("sees the workspace's own config.worktree, when told which worktree", async () => {
    mkdirSync(join(gitDir, 'worktrees', 't'), { recursive: true });
    const before = await take('worktrees/t');
    expect(before.worktree).toBe('worktrees/t');
    writeFileSync(join(gitDir, 'worktrees', 't', 'config.worktree'), '[core]\n\thooksPath = /x\n');
    expect(changedGitConfigPaths(before, await take('worktrees/t'))).toEqual([
      'worktrees/t/config.worktree',
    ]);
  });

  it("passes over what git writes itself (info/refs, from git gc) and the server's own files", async () => {
    const before = await take();
    writeFileSync(join(gitDir, 'info', 'refs'), 'abc\trefs/heads/main\n');
    writeFileSync(join(gitDir, 'cta-workspaces.lock'), 'holder\n');
    mkdirSync(join(gitDir, 'worktrees', 'other'), { recursive: true });
    expect(changedGitConfigPaths(before, await take())).toEqual([]);
  });

  it('hands the configuration files it hashed, and no other file', async () => {
    writeFileSync(join(gitDir, 'config.worktree'), '[user]\n\tname = x\n');
    const { fingerprint, configFiles } = await takeGitConfigFingerprint(gitDir, null);
    expect([...configFiles.keys()].sort()).toEqual(['config', 'config.worktree']);
    expect(fileValue(configFiles.get('config.worktree')!)).toBe(
      fingerprint.paths['config.worktree'],
    );
  });

  it('records a link by its target without following it', async () => {
    symlinkSync('/etc/passwd', join(gitDir, 'hooks', 'pre-commit'));
    expect((await take()).paths['hooks/pre-commit']).toBe('link:/etc/passwd');
  });

  it('marks a directory with more entries than it looks at, instead of reading them', async () => {
    for (let i = 0; i <= MAX_FINGERPRINT_PATHS; i += 1) {
      writeFileSync(join(gitDir, 'info', `f${i}`), '');
    }
    const fingerprint = await take();
    expect(fingerprint.paths.info).toBe('too_many_entries');
    expect(Object.keys(fingerprint.paths).some((p) => p.startsWith('info/'))).toBe(false);
    expect(unreadPaths(fingerprint)).toEqual(['info']);
  });
});
