import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FileChange,
  orderFile,
  printOrder,
  parseNameStatusZ,
  parseNumstatZ,
  reviewOrder,
} from 'src/workspaces/workspace-diff';
import { parseConflictedFiles } from 'src/workspaces/workspace-merge';
import { parseWorktreeList } from 'src/workspaces/git-repository';

describe('reading git output', () => {
  it('reads --name-status -z, renames and copies with their old path', () => {
    const out = [
      'M',
      'src/a.js',
      'A',
      'new file.txt',
      'R087',
      'old.js',
      'moved.js',
      'D',
      'gone',
      'C100',
      'x',
      'y',
      'T',
      'link',
      '',
    ].join('\0');
    expect(parseNameStatusZ(out)).toEqual([
      { status: 'modified', path: 'src/a.js', oldPath: null },
      { status: 'added', path: 'new file.txt', oldPath: null },
      { status: 'renamed', path: 'moved.js', oldPath: 'old.js' },
      { status: 'deleted', path: 'gone', oldPath: null },
      { status: 'copied', path: 'y', oldPath: 'x' },
      { status: 'type_changed', path: 'link', oldPath: null },
    ]);
    expect(parseNameStatusZ('')).toEqual([]);
  });

  it('reads --numstat -z: counts, binary files, renames and tabs in names', () => {
    const out = [
      '3\t1\tsrc/a.js',
      '-\t-\timg.png',
      '0\t0\t',
      'old.js',
      'moved.js',
      '1\t0\ta\tb.txt',
      '',
    ].join('\0');
    expect(parseNumstatZ(out)).toEqual([
      { path: 'src/a.js', additions: 3, deletions: 1 },
      { path: 'img.png', additions: null, deletions: null },
      { path: 'moved.js', additions: 0, deletions: 0 },
      { path: 'a\tb.txt', additions: 1, deletions: 0 },
    ]);
  });

  it('orders a cut patch: test files first, then the fewest changed lines', () => {
    const change = (path: string, additions: number | null, deletions = 0): FileChange => ({
      path,
      oldPath: null,
      status: 'modified',
      additions,
      deletions: additions === null ? null : deletions,
      binary: additions === null,
    });
    const files = [
      change('package-lock.json', 4000, 3000),
      change('src/big.js', 200),
      change('src/small.js', 3, 1),
      change('logo.png', null),
      change('test/big.test.js', 40),
      change('src/util.spec.ts', 90, 2),
    ];
    expect(reviewOrder(files).map((f) => f.path)).toEqual([
      'test/big.test.js',
      'src/util.spec.ts',
      'logo.png',
      'src/small.js',
      'src/big.js',
      'package-lock.json',
    ]);
  });

  it('names each path literally in the order file git diff -O reads', () => {
    const repo = mkdtempSync(join(tmpdir(), 'cta-order-spec-'));
    try {
      const git = (...args: string[]) =>
        execFileSync('git', ['-c', 'core.quotepath=false', ...args], {
          cwd: repo,
          encoding: 'utf8',
        });
      git('init', '-q');
      const names = ['a*b.js', '#hash.js', '[c].js', 'd?.js', 'e\\f.js', 'ab.js', 'cc.js'];
      for (const name of names) writeFileSync(join(repo, name), `${name}\n`);
      git('add', '-A');
      const order = ['cc.js', '[c].js', 'd?.js', '#hash.js', 'e\\f.js', 'a*b.js', 'ab.js'];
      writeFileSync(join(repo, '.order'), orderFile(order));
      const listed = git('diff', '--cached', '--name-only', '-z', '-O.order', '--', ...names);
      expect(listed.split('\0').filter((f) => f !== '')).toEqual(order);
      expect(orderFile(['x\ny.js', 'z.js'])).toBe('z.js\n');
    } finally {
      rmSync(repo, { recursive: true, force: true });
    }
  });

  it('orders a change too large to order whole: the first files in review order, then the rest as git prints them', () => {
    const repo = mkdtempSync(join(tmpdir(), 'cta-order-spec-'));
    try {
      const git = (...args: string[]) =>
        execFileSync('git', args, { cwd: repo, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      git('init', '-q');
      // 150 files, the later in git's (path) order with fewer lines: review order reverses them.
      const files: FileChange[] = [];
      for (let i = 0; i < 150; i += 1) {
        const path = `f${String(i).padStart(3, '0')}.js`;
        const lines = 150 - i;
        writeFileSync(join(repo, path), 'x\n'.repeat(lines));
        files.push({
          path,
          oldPath: null,
          status: 'added',
          additions: lines,
          deletions: 0,
          binary: false,
        });
      }
      git('add', '-A');
      const all = printOrder(files);
      expect(all.whole).toBe(true);
      expect(all.printed.map((f) => f.path)).toEqual(files.map((f) => f.path).reverse());

      const { named, printed, whole } = printOrder(files, 150 * 100);
      expect(whole).toBe(false);
      expect(named.map((f) => f.path)).toEqual(
        files
          .slice(50)
          .map((f) => f.path)
          .reverse(),
      );
      writeFileSync(join(repo, '.order'), orderFile(named.map((f) => f.path)));
      const listed = git('diff', '--cached', '--name-only', '-z', '-O.order', '--', '*.js');
      expect(listed.split('\0').filter((f) => f !== '')).toEqual(printed.map((f) => f.path));
      expect(printed.slice(100).map((f) => f.path)).toEqual(files.slice(0, 50).map((f) => f.path));
    } finally {
      rmSync(repo, { recursive: true, force: true });
    }
  });

  it('counts what ordering costs by path depth: git tries each ordered name on every leading directory too', () => {
    const files: FileChange[] = Array.from({ length: 150 }, (_, i) => ({
      path: `a/b/f${i}.js`,
      oldPath: null,
      status: 'added',
      additions: i,
      deletions: 0,
      binary: false,
    }));
    expect(printOrder(files, 150 * 150 * 3).whole).toBe(true);
    const deep = printOrder(files, 150 * 150 * 3 - 1);
    expect(deep.whole).toBe(false);
    expect(deep.named).toHaveLength(149);
  });

  it('reads the conflicted files of merge-tree --name-only -z', () => {
    const out = [
      '934e97dc',
      'a.txt',
      'src/b.js',
      'a.txt',
      '',
      '1',
      'a.txt',
      'Auto-merging',
      'Auto-merging a.txt\n',
      '',
    ].join('\0');
    expect(parseConflictedFiles(out)).toEqual(['a.txt', 'src/b.js']);
  });

  it('reads worktree list --porcelain -z', () => {
    const out = [
      'worktree /repo',
      'HEAD 64e1b21d',
      'branch refs/heads/main',
      '',
      'worktree /ws/t1',
      'HEAD 5af2b61a',
      'branch refs/heads/cta/t1',
      'locked initializing',
      '',
      'worktree /ws/t2',
      'HEAD 5af2b61a',
      'detached',
      'locked',
      '',
      '',
    ].join('\0');
    expect(parseWorktreeList(out)).toEqual([
      { path: '/repo', head: '64e1b21d', branch: 'refs/heads/main', bare: false, locked: null },
      {
        path: '/ws/t1',
        head: '5af2b61a',
        branch: 'refs/heads/cta/t1',
        bare: false,
        locked: 'initializing',
      },
      { path: '/ws/t2', head: '5af2b61a', branch: null, bare: false, locked: '' },
    ]);
  });
});
