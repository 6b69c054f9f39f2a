import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findGroupLeader, underGroupLeader } from 'src/process/group-leader';

describe('group leader', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'cta-leader-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const executable = (path: string, text: string) => {
    writeFileSync(path, text);
    chmodSync(path, 0o755);
  };

  it("finds GNU coreutils' timeout on PATH", () => {
    expect(findGroupLeader(process.env.PATH)).toMatch(/\/timeout$/);
  });

  it('finds none where PATH has no timeout, or one that is not GNU (busybox makes no group)', () => {
    expect(findGroupLeader(dir)).toBeNull();
    executable(join(dir, 'timeout'), '#!/bin/sh\necho "BusyBox v1.36.1 multi-call binary."\n');
    expect(findGroupLeader(dir)).toBeNull();
  });

  it('runs the command by the path spawn would find, with no time limit', () => {
    mkdirSync(join(dir, 'bin'));
    executable(join(dir, 'bin', 'tool'), '#!/bin/sh\n');
    expect(
      underGroupLeader('/usr/bin/timeout', 'tool', ['-x', 'y z'], '/', join(dir, 'bin')),
    ).toEqual({
      argv: ['/usr/bin/timeout', '0', join(dir, 'bin', 'tool'), '-x', 'y z'],
    });
    // A path with a slash is the child's: relative to its working directory, not this process's.
    expect(underGroupLeader('/usr/bin/timeout', './bin/tool', [], dir, '')).toEqual({
      argv: ['/usr/bin/timeout', '0', join(dir, 'bin', 'tool')],
    });
  });

  it('answers ENOENT or EACCES for a command that cannot be run, as spawn would', () => {
    writeFileSync(join(dir, 'plain'), '#!/bin/sh\n');
    expect(underGroupLeader('/usr/bin/timeout', 'nothing-here', [], dir, dir)).toEqual({
      error: 'ENOENT',
    });
    expect(underGroupLeader('/usr/bin/timeout', join(dir, 'missing'), [], dir, '')).toEqual({
      error: 'ENOENT',
    });
    expect(underGroupLeader('/usr/bin/timeout', join(dir, 'plain'), [], dir, '')).toEqual({
      error: 'EACCES',
    });
    expect(underGroupLeader('/usr/bin/timeout', dir, [], dir, '')).toEqual({ error: 'EACCES' });
  });
});
