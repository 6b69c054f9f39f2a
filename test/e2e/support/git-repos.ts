import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';

/** The environment test-side git commands run with: no user config, a fixed identity. */
const GIT_ENV = {
  PATH: process.env.PATH,
  HOME: '/nonexistent',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 't',
  GIT_AUTHOR_EMAIL: 't@example.com',
  GIT_COMMITTER_NAME: 't',
  GIT_COMMITTER_EMAIL: 't@example.com',
};

/** Runs git in `dir` (the test's own view, independent of the server) and returns its stdout. */
export function git(dir: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: dir, env: GIT_ENV, encoding: 'utf8' });
}

/** Writes `files` (relative path to content) under `dir`, making directories as needed. */
export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), content);
  }
}

/**
 * A project directory `dir` with `files`, committed as `base` in a new git repository unless
 * `plain`; returns its real path.
 */
export function committedProject(
  dir: string,
  files: Record<string, string>,
  plain = false,
): string {
  mkdirSync(dir, { recursive: true });
  writeFiles(dir, files);
  if (!plain) {
    git(dir, 'init', '-q');
    git(dir, 'add', '-A');
    git(dir, 'commit', '-q', '-m', 'base');
  }
  return realpathSync(dir);
}

/**
 * A fingerprint of a user's checkout: the sha256 of every file of the working tree (symlinks by
 * target, `.git` left out), of `.git/HEAD` and `.git/index`, and the commit of the checked-out
 * branch. Equal fingerprints: not one byte of the checkout, its index or its branch changed.
 */
export function checkoutFingerprint(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const sha = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');
  const visit = (abs: string, rel: string): void => {
    for (const name of readdirSync(abs).sort()) {
      if (rel === '' && name === '.git') continue;
      const path = join(abs, name);
      const relPath = rel === '' ? name : `${rel}/${name}`;
      const stat = lstatSync(path);
      if (stat.isDirectory()) visit(path, relPath);
      else if (stat.isSymbolicLink()) out[relPath] = `link:${readlinkSync(path)}`;
      else out[relPath] = `${stat.mode.toString(8)}:${sha(readFileSync(path))}`;
    }
  };
  visit(dir, '');
  out['.git/HEAD'] = sha(readFileSync(join(dir, '.git', 'HEAD')));
  out['.git/index'] = sha(readFileSync(join(dir, '.git', 'index')));
  out['branch'] = git(dir, 'rev-parse', 'HEAD').trim();
  return out;
}

/** The paths of a repository's worktrees other than its main one. */
export function linkedWorktrees(repo: string): string[] {
  return git(repo, 'worktree', 'list', '--porcelain')
    .split('\n')
    .filter((l) => l.startsWith('worktree '))
    .map((l) => l.slice('worktree '.length))
    .slice(1);
}
