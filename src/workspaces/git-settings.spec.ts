import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from 'src/config';
import { GIT_SETTINGS, gitEnv } from 'src/workspaces/git';

describe('GIT_SETTINGS', () => {
  let root: string;
  beforeEach(() => {
    root = realpathSync(mkdtempSync(join(tmpdir(), 'git-settings-')));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("stages what the repository's rules do not ignore, whatever the user's global excludes say", () => {
    const home = join(root, 'home');
    mkdirSync(join(home, '.config', 'git'), { recursive: true });
    writeFileSync(join(home, '.config', 'git', 'ignore'), '*.log\n');
    const repo = join(root, 'repo');
    mkdirSync(repo);
    writeFileSync(join(repo, '.gitignore'), '*.tmp\n');
    for (const name of ['a.txt', 'run.log', 'x.tmp']) writeFileSync(join(repo, name), 'x\n');
    const env = { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: '' };
    const git = (...args: string[]): string =>
      execFileSync('git', [...GIT_SETTINGS, ...args], { cwd: repo, env, encoding: 'utf8' });
    git('init', '-q');
    git('add', '-A');
    expect(git('ls-files').trim().split('\n')).toEqual(['.gitignore', 'a.txt', 'run.log']);
  });
});

describe('gitEnv', () => {
  it("gives git none of the CLI's credentials or settings: the filters and hooks it runs are not the agent", () => {
    const env = gitEnv(
      {
        PATH: '/usr/bin',
        ANTHROPIC_API_KEY: 'sk-secret',
        ANTHROPIC_AUTH_TOKEN: 'tok',
        CLAUDE_CODE_OAUTH_TOKEN: 'oauth',
        CLAUDE_CONFIG_DIR: '/home/u/.claude',
      },
      loadConfig({}),
    );
    expect(env.PATH).toBe('/usr/bin');
    expect(Object.keys(env).filter((name) => /^(ANTHROPIC|CLAUDE)_/.test(name))).toEqual([]);
  });
});
