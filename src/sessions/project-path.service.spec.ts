import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from 'src/config';
import { DomainError, ErrorCode, serverInstallDir } from 'src/common';
import { isInside, ProjectPathService } from 'src/sessions/project-path.service';
import { serverDependenciesDir } from 'src/sessions/server-install';

function codeOf(call: () => unknown): ErrorCode | 'ok' {
  try {
    call();
    return 'ok';
  } catch (error) {
    if (error instanceof DomainError) return error.code;
    throw error;
  }
}

/** What `call` threw (it must throw). */
function thrown(call: () => unknown): unknown {
  try {
    call();
  } catch (error) {
    return error;
  }
  throw new Error('it did not throw');
}

const ON_KERNEL_FS = "is on one of the kernel's own file systems";

/** Places on the kernel's own file systems: each refused, saying so. */
const KERNEL_PLACES: [string, () => string, string][] = [
  ['a directory of /proc', () => '/proc/self', ON_KERNEL_FS],
  ['the /proc of a process', () => `/proc/${process.pid}/fd`, ON_KERNEL_FS],
  ['a directory of /sys', () => '/sys/kernel', ON_KERNEL_FS],
  ['the control groups', () => '/sys/fs/cgroup', ON_KERNEL_FS],
  ['/dev', () => '/dev', ON_KERNEL_FS],
];

describe('ProjectPathService', () => {
  let tmp: string;
  let allowed: string;
  let outside: string;
  let gitDir: string;
  let bareRepo: string;
  const installDir = serverInstallDir();

  beforeAll(() => {
    tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'cta-pp-')));
    allowed = path.join(tmp, 'allowed');
    outside = path.join(tmp, 'outside');
    fs.mkdirSync(path.join(allowed, 'proj'), { recursive: true });
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(allowed, 'file.txt'), 'x');
    fs.symlinkSync(outside, path.join(allowed, 'escape'));
    fs.symlinkSync(path.join(allowed, 'proj'), path.join(tmp, 'link-in'));
    gitDir = path.join(allowed, 'repo', '.git');
    fs.mkdirSync(path.join(gitDir, 'hooks'), { recursive: true });
    bareRepo = path.join(allowed, 'shared.repo');
    execFileSync('git', ['init', '-q', '--bare', bareRepo]);
    const git = (...args: string[]) =>
      execFileSync('git', ['-C', bareRepo, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args])
        .toString()
        .trim();
    git('update-ref', 'HEAD', git('commit-tree', '-m', 'first', git('mktree')));
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const service = (roots?: string) =>
    new ProjectPathService(loadConfig(roots === undefined ? {} : { ALLOWED_PROJECT_ROOTS: roots }));

  it('returns the canonical path of an existing directory', () => {
    expect(service().resolve(path.join(allowed, 'proj', '..', 'proj'))).toBe(
      path.join(allowed, 'proj'),
    );
    expect(service().resolve(path.join(tmp, 'link-in'))).toBe(path.join(allowed, 'proj'));
  });

  it("takes a project in /dev/shm (memory for files, not the kernel's devices)", () => {
    if (!fs.existsSync('/dev/shm')) return;
    const inMemory = fs.mkdtempSync('/dev/shm/cta-project-');
    try {
      expect(service().resolve(inMemory)).toBe(fs.realpathSync(inMemory));
    } finally {
      fs.rmSync(inMemory, { recursive: true, force: true });
    }
  });

  it.each([
    ['relative', 'relative/dir'],
    ['dot-relative', './proj'],
    ['missing', '/definitely/not/here/cta'],
    ['empty', ''],
    ['NUL byte', '/tmp/\0x'],
  ])('rejects a %s path as project_path_invalid', (_label, input) => {
    expect(codeOf(() => service().resolve(input))).toBe(ErrorCode.ProjectPathInvalid);
  });

  it.each<[string, () => string, string]>([
    ['the filesystem root', () => '/', 'is the root of the filesystem'],
    ['a .git directory', () => gitDir, 'lies inside a git directory (.git)'],
    ['a directory inside .git', () => path.join(gitDir, 'hooks'), 'lies inside a git directory'],
    ['a directory holding the database', () => tmp, "holds the server's database"],
    ["the server's installation", () => installDir, "is the server's installation"],
    [
      "a directory inside the server's installation",
      () => path.join(installDir, 'src', 'sessions'),
      "lies inside the server's installation",
    ],
    [
      "a directory holding the server's installation",
      () => path.dirname(installDir),
      "holds the server's installation",
    ],
    ["the server's dependencies", () => serverDependenciesDir(), 'the server'],
    [
      "a package among the server's dependencies",
      () => path.join(serverDependenciesDir(), '@nestjs', 'core'),
      "lies inside the server's",
    ],
    ...KERNEL_PLACES,
    ['a bare repository', () => bareRepo, 'is a bare git repository'],
    [
      'a directory inside a bare repository',
      () => path.join(bareRepo, 'hooks'),
      'lies inside a bare git repository',
    ],
  ])('rejects %s as project_path_invalid, saying why', (_label, input, why) => {
    const withDatabase = new ProjectPathService(
      loadConfig({ DATABASE_URL: `sqlite:///${path.join(tmp, 'data', 'tasks.db')}` }),
    );
    expect(thrown(() => withDatabase.resolve(input()))).toMatchObject({
      code: ErrorCode.ProjectPathInvalid,
      message: expect.stringContaining(why) as unknown,
    });
  });

  it.each<[string, () => string, string]>([
    ['a directory holding the task workspaces', () => outside, 'holds the task workspaces'],
    [
      'the task workspaces',
      () => path.join(outside, 'workspaces'),
      'is the task workspaces (WORKSPACES_DIR)',
    ],
    [
      'a directory inside the task workspaces',
      () => path.join(outside, 'workspaces', 'some-task'),
      'lies inside the task workspaces (WORKSPACES_DIR)',
    ],
  ])('rejects %s', (_label, input, why) => {
    fs.mkdirSync(path.join(outside, 'workspaces', 'some-task'), { recursive: true });
    const withWorkspaces = new ProjectPathService(
      loadConfig({ WORKSPACES_DIR: path.join(outside, 'workspaces') }),
    );
    expect(thrown(() => withWorkspaces.resolve(input()))).toMatchObject({
      code: ErrorCode.ProjectPathInvalid,
      message: expect.stringContaining(why) as unknown,
    });
  });

  it("rejects the server's working directory and what holds it, not what lies inside it", () => {
    const cwd = process.cwd();
    const work = path.join(tmp, 'work');
    fs.mkdirSync(path.join(work, 'proj'), { recursive: true });
    process.chdir(work);
    try {
      expect(thrown(() => service().resolve(work))).toMatchObject({
        message: expect.stringContaining("holds the server's working directory") as unknown,
      });
      expect(service().resolve(path.join(work, 'proj'))).toBe(path.join(work, 'proj'));
    } finally {
      process.chdir(cwd);
    }
  });

  it('takes a repository whose work tree holds a bare-looking file, and its work tree', () => {
    const tree = path.join(allowed, 'tree');
    fs.mkdirSync(path.join(tree, 'refs'), { recursive: true });
    fs.writeFileSync(path.join(tree, 'HEAD'), 'not a ref\n');
    fs.mkdirSync(path.join(tree, 'objects'));
    expect(service().resolve(tree)).toBe(tree);
    const worktree = path.join(tmp, 'worktree');
    execFileSync('git', ['-C', bareRepo, 'worktree', 'add', '-q', '--detach', worktree]);
    expect(service().resolve(worktree)).toBe(worktree);
  });

  it('takes a directory where a FIFO is named HEAD, without waiting on it', () => {
    const fifo = path.join(allowed, 'fifo-head');
    fs.mkdirSync(path.join(fifo, 'refs'), { recursive: true });
    fs.mkdirSync(path.join(fifo, 'objects'));
    execFileSync('mkfifo', [path.join(fifo, 'HEAD')]);
    expect(service().resolve(fifo)).toBe(fifo);
  });

  it('takes a project beside the database or inside a repository, not its .git', () => {
    const withDatabase = new ProjectPathService(
      loadConfig({ DATABASE_URL: `sqlite:///${path.join(tmp, 'data', 'tasks.db')}` }),
    );
    expect(withDatabase.resolve(path.join(allowed, 'proj'))).toBe(path.join(allowed, 'proj'));
    expect(withDatabase.resolve(path.dirname(gitDir))).toBe(path.dirname(gitDir));
  });

  it('rejects a file as project_path_invalid', () => {
    expect(codeOf(() => service().resolve(path.join(allowed, 'file.txt')))).toBe(
      ErrorCode.ProjectPathInvalid,
    );
  });

  it('enforces ALLOWED_PROJECT_ROOTS on the resolved path', () => {
    const s = service(`${allowed},/nonexistent-root`);
    expect(s.resolve(path.join(allowed, 'proj'))).toBe(path.join(allowed, 'proj'));
    expect(s.resolve(allowed)).toBe(allowed);
    expect(codeOf(() => s.resolve(outside))).toBe(ErrorCode.ProjectPathNotAllowed);
    expect(codeOf(() => s.resolve(path.join(allowed, 'escape')))).toBe(
      ErrorCode.ProjectPathNotAllowed,
    );
    expect(codeOf(() => s.resolve(`${allowed}-sibling`))).toBe(ErrorCode.ProjectPathNotAllowed);
  });

  it('answers paths outside the roots alike, whether they exist or not', () => {
    const s = service(allowed);
    const refusals = [
      outside,
      path.join(outside, 'missing'),
      path.join(tmp, 'nope'),
      '/etc/hostname',
    ].map((p) => {
      const error = thrown(() => s.resolve(p)) as DomainError;
      return [error.code, error.message, error.details];
    });
    expect(refusals.map((r) => r[0])).toEqual(Array(4).fill(ErrorCode.ProjectPathNotAllowed));
    expect(new Set(refusals.map((r) => r[1])).size).toBe(1);
    expect(JSON.stringify(refusals)).not.toContain('resolved');
    expect(codeOf(() => s.resolve(path.join(allowed, 'missing')))).toBe(
      ErrorCode.ProjectPathInvalid,
    );
  });

  it('accepts a root given through a symlink, and paths below it', () => {
    const s = service(path.join(tmp, 'link-in'));
    expect(s.resolve(path.join(tmp, 'link-in'))).toBe(path.join(allowed, 'proj'));
    expect(s.resolve(path.join(allowed, 'proj'))).toBe(path.join(allowed, 'proj'));
    expect(codeOf(() => s.resolve(path.join(tmp, 'link-in', 'missing')))).toBe(
      ErrorCode.ProjectPathInvalid,
    );
  });

  it('allows a symlink from outside that lands inside a root', () => {
    expect(service(allowed).resolve(path.join(tmp, 'link-in'))).toBe(path.join(allowed, 'proj'));
  });

  describe('recheck (a stored session, held to the rules as they are now)', () => {
    it('passes a directory that is still its own canonical path and breaks no rule', () => {
      expect(service().recheck(path.join(allowed, 'proj'))).toBeUndefined();
    });

    it.each<[string, () => string, string]>([
      ...KERNEL_PLACES,
      ['a bare repository', () => bareRepo, 'is a bare git repository'],
      ["the server's installation", () => installDir, "is the server's installation"],
      [
        'a directory inside the node_modules the server loads from',
        () => path.join(serverDependenciesDir(), '@nestjs', 'core'),
        // Its installation's or its dependencies', wherever its node_modules lies.
        "lies inside the server's",
      ],
    ])('refuses %s as creating the session now would, naming the session', (_l, p, why) => {
      expect(thrown(() => service().recheck(p()))).toMatchObject({
        code: ErrorCode.ProjectPathInvalid,
        message: expect.stringMatching(new RegExp(`^The session's project_path ${why}`)) as unknown,
        details: { project_path: p() },
      });
    });

    it('refuses a directory that became a bare repository since it was stored', () => {
      const dir = path.join(allowed, 'became-bare');
      fs.mkdirSync(dir);
      expect(service().recheck(dir)).toBeUndefined();
      execFileSync('git', ['init', '-q', '--bare', dir]);
      expect(codeOf(() => service().recheck(dir))).toBe(ErrorCode.ProjectPathInvalid);
    });

    it('refuses a stored path that a symbolic link now stands in for, wherever it leads', () => {
      const dir = path.join(allowed, 'replaced');
      fs.mkdirSync(dir);
      fs.rmdirSync(dir);
      fs.symlinkSync(path.join(allowed, 'proj'), dir);
      expect(thrown(() => service().recheck(dir))).toMatchObject({
        code: ErrorCode.ProjectPathInvalid,
        message: expect.stringContaining(
          'is no longer the directory the session was created for',
        ) as unknown,
      });
      const intoServer = path.join(allowed, 'into-server');
      fs.symlinkSync(installDir, intoServer);
      expect(thrown(() => service().recheck(intoServer))).toMatchObject({
        message: expect.stringContaining("is the server's installation") as unknown,
      });
    });

    it('refuses a session outside ALLOWED_PROJECT_ROOTS set since, with 403', () => {
      expect(codeOf(() => service(allowed).recheck(outside))).toBe(ErrorCode.ProjectPathNotAllowed);
      expect(() => service(allowed).recheck(outside)).toThrow(
        "The session's project_path is outside the allowed project roots",
      );
    });

    it('leaves a directory that is gone to the run (project_unavailable there)', () => {
      expect(service().recheck(path.join(allowed, 'gone'))).toBeUndefined();
    });
  });
});

describe('isInside', () => {
  it.each([
    ['/a/b', '/a', true],
    ['/a', '/a', true],
    ['/ab', '/a', false],
    ['/a/b', '/', true],
    ['/b', '/a', false],
  ])('%s inside %s is %s', (candidate, root, expected) => {
    expect(isInside(candidate, root)).toBe(expected);
  });
});
