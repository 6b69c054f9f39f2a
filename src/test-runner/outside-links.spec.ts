import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { linksOutside } from 'src/test-runner/outside-links';

describe('links leading outside the repository', () => {
  let dir: string;
  let top: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'outside-links-'));
    top = join(dir, 'repo');
    mkdirSync(join(top, 'app/src'), { recursive: true });
    writeFileSync(join(top, 'app/src/real.js'), '');
    writeFileSync(join(dir, 'secret.js'), '');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('finds absolute targets, targets above the top and links out through another link; keeps links inside', () => {
    const project = join(top, 'app');
    symlinkSync(join(dir, 'secret.js'), join(project, 'src/absolute.js'));
    symlinkSync(join(project, 'src/real.js'), join(project, 'src/absolute-inside.js'));
    symlinkSync('../../../secret.js', join(project, 'src/climbs.js'));
    symlinkSync('../../up.js', join(project, 'src/to-top.js'));
    symlinkSync('../..', join(project, 'src/top-dir'));
    symlinkSync(dir, join(top, 'out'));
    symlinkSync('../../out/secret.js', join(project, 'src/through.js'));
    symlinkSync('real.js', join(project, 'src/inside.js'));
    symlinkSync('missing.js', join(project, 'src/dangling.js'));
    const paths = [
      'src/absolute.js',
      'src/absolute-inside.js',
      'src/climbs.js',
      'src/to-top.js',
      'src/top-dir',
      'src/through.js',
      'src/inside.js',
      'src/dangling.js',
      'src/real.js',
      'src/gone.js',
    ];
    expect(linksOutside(top, project, paths)).toEqual([
      `src/absolute-inside.js -> ${join(project, 'src/real.js')}`,
      `src/absolute.js -> ${join(dir, 'secret.js')}`,
      'src/climbs.js -> ../../../secret.js',
      'src/through.js -> ../../out/secret.js',
    ]);
  });
});
