import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, join } from 'path';
import { jsTestConfigFiles, scriptConfigOption } from 'src/test-runner/js-test-config';

describe('scriptConfigOption', () => {
  it.each<[string, string | null]>([
    ['jest --config config/jest.config.base.js', 'config/jest.config.base.js'],
    ['jest -c=jest.ci.js --ci', 'jest.ci.js'],
    ['cross-env NODE_ENV=test jest --config="conf/j.json"', 'conf/j.json'],
    ['vitest run -c conf/vitest.ts', 'conf/vitest.ts'],
    ['node_modules/.bin/jest --config=a.js', 'a.js'],
    ['jest', null],
    ['node test/run-all.js --config x.js', null],
    ['jest && eslint -c .eslintrc.js', null],
  ])('%s -> %s', (script, config) => {
    expect(scriptConfigOption(script)).toBe(config);
  });
});

describe('jsTestConfigFiles', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cta-jsconfig-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const files = (tree: Record<string, string>): void => {
    for (const [rel, content] of Object.entries(tree)) {
      mkdirSync(dirname(join(dir, rel)), { recursive: true });
      writeFileSync(join(dir, rel), content);
    }
  };

  it('finds the configuration the test script names, and the setup files it names (from its rootDir)', () => {
    files({
      'package.json': JSON.stringify({
        scripts: { test: 'jest --config config/jest.config.base.js' },
      }),
      'config/jest.config.base.js':
        "module.exports = { rootDir: '..', setupFilesAfterEnv: ['<rootDir>/setup/expect.js', './local'], setupFiles: ['jest-extended/all'] };\n",
    });
    expect([...jsTestConfigFiles(dir)].sort()).toEqual([
      'config/jest.config.base.js',
      'local',
      'local.cjs',
      'local.js',
      'local.mjs',
      'local.ts',
      'setup/expect.js',
    ]);
  });

  it("reads jest.config.js's and package.json's jest key's setup files, and vitest's in vite.config.js", () => {
    files({
      'package.json': JSON.stringify({
        scripts: { test: 'jest' },
        jest: { setupFiles: ['<rootDir>/jest.pre.js'], globalSetup: './global.js' },
      }),
      'jest.config.js':
        "module.exports = { setupFilesAfterEnv: ['./jest.setup.js'], testEnvironment: 'node' };\n",
      'vite.config.js':
        "export default { test: { include: ['test/**/*.test.js'], setupFiles: './test/setup.js' } };\n",
    });
    expect([...jsTestConfigFiles(dir)].sort()).toEqual([
      'global.js',
      'jest.pre.js',
      'jest.setup.js',
      'test/setup.js',
    ]);
  });

  it('leaves out paths outside the project, and finds nothing in a project without configuration', () => {
    files({ 'jest.config.js': "module.exports = { setupFiles: ['../../etc/x.js'] };\n" });
    expect([...jsTestConfigFiles(dir)]).toEqual([]);
    rmSync(join(dir, 'jest.config.js'));
    expect([...jsTestConfigFiles(dir)]).toEqual([]);
  });
});
