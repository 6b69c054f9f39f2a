import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  changedIgnored,
  ignoredFingerprints,
  isWatchedIgnored,
} from 'src/test-runner/ignored-fingerprints';

describe('fingerprints of what git ignores', () => {
  let dir: string;
  const write = (rel: string, content = 'x'): void => {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), content);
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ignored-prints-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it.each<[string, boolean]>([
    ['build/', true],
    ['dist/', true],
    ['src/impl.local.js', true],
    ['node_modules/', false],
    ['packages/a/node_modules/', false],
    ['.venv/', false],
    ['tests/__pycache__/', false],
    ['tests/__pycache__/test_a.cpython-311.pyc', false],
    ['calc.pyc', false],
    ['.pytest_cache/', false],
  ])('%s is watched: %s', (path, watched) => {
    expect(isWatchedIgnored(path)).toBe(watched);
  });

  it('tells an entry created, a file written again and a file added inside from those left alone', async () => {
    write('build/helper.js', 'a');
    write('build/deep/x.js', 'b');
    write('gen.local.js', 'c');
    write('node_modules/dep/index.js', 'd');
    const ignored = ['build/', 'gen.local.js', 'node_modules/'];
    const before = await ignoredFingerprints(dir, ignored);
    expect(Object.keys(before).sort()).toEqual(['build/', 'gen.local.js']);
    expect(changedIgnored(before, await ignoredFingerprints(dir, ignored))).toEqual([]);

    // Written again with the same size: its time tells.
    write('build/deep/x.js', 'B');
    utimesSync(join(dir, 'build/deep/x.js'), new Date(1), new Date(1));
    write('node_modules/dep/index.js', 'changed');
    write('out/made.js');
    const now = await ignoredFingerprints(dir, [...ignored, 'out/']);
    expect(changedIgnored(before, now)).toEqual(['build/', 'out/']);
    // Not known before (a snapshot stored without them): everything watched counts.
    expect(changedIgnored(null, now)).toEqual(['build/', 'gen.local.js', 'out/']);
  });
});
