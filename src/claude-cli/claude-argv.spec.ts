import { spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildClaudeArgv,
  ClaudeArgvOptions,
  cutToBytes,
  MAX_INLINE_PROMPT_BYTES,
  preparePrompt,
  removePromptFile,
  resolveCliCommand,
  shortenWithNote,
} from 'src/claude-cli/claude-argv';

const ID = '0b7c6d1e-2f3a-4b5c-8d9e-0f1a2b3c4d5e';

function opts(over: Partial<ClaudeArgvOptions> = {}): ClaudeArgvOptions {
  return {
    prompt: 'do it',
    conversationId: ID,
    resume: false,
    permissionMode: 'acceptEdits',
    allowedTools: [],
    disallowedTools: [],
    maxTurns: 0,
    ...over,
  };
}

describe('buildClaudeArgv', () => {
  it('builds the minimal first-turn argv with the prompt last after --', () => {
    expect(buildClaudeArgv(opts())).toEqual([
      '-p',
      '--output-format=stream-json',
      '--verbose',
      '--permission-mode=acceptEdits',
      `--session-id=${ID}`,
      '--',
      'do it',
    ]);
  });

  it('uses --resume on later turns and the --flag=value form for every option', () => {
    const argv = buildClaudeArgv(
      opts({
        resume: true,
        model: 'sonnet',
        allowedTools: ['Read', 'Bash(npm test:*)'],
        disallowedTools: ['WebFetch'],
        maxTurns: 7,
        appendSystemPrompt: 'Be brief.\nReally.',
      }),
    );
    expect(argv).toEqual([
      '-p',
      '--output-format=stream-json',
      '--verbose',
      '--permission-mode=acceptEdits',
      '--model=sonnet',
      '--allowedTools=Read,Bash(npm test:*)',
      '--disallowedTools=WebFetch',
      '--max-turns=7',
      '--append-system-prompt=Be brief.\nReally.',
      `--resume=${ID}`,
      '--',
      'do it',
    ]);
  });

  it.each([
    '$(id)',
    '`id`',
    '"; rm -rf / #',
    "it's",
    'line1\nline2',
    '-p',
    '--version',
    '-- --',
    '',
  ])('keeps the hostile prompt %j as one final argument', (prompt) => {
    const argv = buildClaudeArgv(opts({ prompt }));
    expect(argv[argv.length - 1]).toBe(prompt);
    expect(argv[argv.length - 2]).toBe('--');
    expect(argv.indexOf('--')).toBe(argv.length - 2);
  });

  it('rejects a conversation id that is not a UUID (it would become an option value)', () => {
    expect(() =>
      buildClaudeArgv(opts({ conversationId: '--dangerously-skip-permissions' })),
    ).toThrow(TypeError);
  });
});

describe('preparePrompt', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'cta-argv-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('puts U+FFFD for a NUL the agent or the tests printed (no argv string may hold one)', () => {
    const prepared = preparePrompt(dir, 'The test said: boom \u0000 bad', ID);
    expect(prepared.argvPrompt).toBe('The test said: boom \uFFFD bad');
    expect(() => spawnSync('true', [prepared.argvPrompt])).not.toThrow();
  });

  it('leaves a prompt under the limit inline', () => {
    expect(preparePrompt(dir, 'small', ID)).toEqual({
      argvPrompt: 'small',
      promptFile: null,
      shortened: false,
    });
  });

  it('writes a prompt over the limit to .claude-task/ and points to it', () => {
    const big = 'é'.repeat(MAX_INLINE_PROMPT_BYTES);
    const p = preparePrompt(dir, big, ID, 1234);
    expect(p.promptFile).toBe(`.claude-task/prompt-${ID}-1234.md`);
    expect(readFileSync(join(dir, p.promptFile!), 'utf8')).toBe(big);
    expect(p.argvPrompt).toContain(p.promptFile!);
    expect(Buffer.byteLength(p.argvPrompt)).toBeLessThan(16 * 1024);
  });

  it('shortens with a note when .claude-task is a symlink (never writes through it)', () => {
    const outside = mkdtempSync(join(tmpdir(), 'cta-argv-outside-'));
    try {
      symlinkSync(outside, join(dir, '.claude-task'));
      const big = `START ${'x'.repeat(200 * 1024)} END`;
      const p = preparePrompt(dir, big, ID);
      expect(p).toMatchObject({ promptFile: null, shortened: true });
      expect(Buffer.byteLength(p.argvPrompt)).toBeLessThanOrEqual(MAX_INLINE_PROMPT_BYTES);
      expect(p.argvPrompt.startsWith('START ')).toBe(true);
      expect(p.argvPrompt.endsWith(' END')).toBe(true);
      expect(p.argvPrompt).toMatch(/\[\.\.\. \d+ bytes of this message were cut here/);
      expect(lstatSync(join(dir, '.claude-task')).isSymbolicLink()).toBe(true);
      expect(readdirSync(outside)).toEqual([]);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('shortens when .claude-task is a file', () => {
    writeFileSync(join(dir, '.claude-task'), 'not a dir');
    expect(preparePrompt(dir, 'y'.repeat(130 * 1024), ID).shortened).toBe(true);
  });

  it('never overwrites an existing prompt file', () => {
    mkdirSync(join(dir, '.claude-task'));
    writeFileSync(join(dir, '.claude-task', `prompt-${ID}-5.md`), 'old');
    const p = preparePrompt(dir, 'z'.repeat(130 * 1024), ID, 5);
    expect(p.shortened).toBe(true);
    expect(readFileSync(join(dir, '.claude-task', `prompt-${ID}-5.md`), 'utf8')).toBe('old');
  });
});

describe('removePromptFile', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'cta-argv-rm-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('removes the prompt file and the folder it leaves empty', () => {
    const p = preparePrompt(dir, 'q'.repeat(130 * 1024), ID, 1);
    removePromptFile(dir, p.promptFile!);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('keeps the folder while it holds other files', () => {
    const first = preparePrompt(dir, 'q'.repeat(130 * 1024), ID, 1);
    const second = preparePrompt(dir, 'r'.repeat(130 * 1024), ID, 2);
    writeFileSync(join(dir, '.claude-task', 'notes.md'), 'the agent wrote this');
    removePromptFile(dir, first.promptFile!);
    expect(readdirSync(join(dir, '.claude-task')).sort()).toEqual([
      'notes.md',
      `prompt-${ID}-2.md`,
    ]);
    removePromptFile(dir, second.promptFile!);
    expect(readdirSync(join(dir, '.claude-task'))).toEqual(['notes.md']);
  });

  it('does nothing when the file or the folder is already gone', () => {
    const p = preparePrompt(dir, 'q'.repeat(130 * 1024), ID, 1);
    rmSync(join(dir, p.promptFile!));
    expect(() => removePromptFile(dir, p.promptFile!)).not.toThrow();
    expect(existsSync(join(dir, '.claude-task'))).toBe(false);
    expect(() => removePromptFile(dir, p.promptFile!)).not.toThrow();
  });

  it('never deletes through a folder swapped for a symlink', () => {
    const outside = mkdtempSync(join(tmpdir(), 'cta-argv-rm-outside-'));
    try {
      const p = preparePrompt(dir, 'q'.repeat(130 * 1024), ID, 1);
      rmSync(join(dir, '.claude-task'), { recursive: true });
      writeFileSync(join(outside, `prompt-${ID}-1.md`), 'not ours');
      symlinkSync(outside, join(dir, '.claude-task'));
      removePromptFile(dir, p.promptFile!);
      expect(readdirSync(outside)).toEqual([`prompt-${ID}-1.md`]);
      expect(lstatSync(join(dir, '.claude-task')).isSymbolicLink()).toBe(true);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });
});

describe('byte helpers', () => {
  it('cuts without splitting a multi-byte character', () => {
    expect(cutToBytes('aé', 2)).toBe('a');
    expect(cutToBytes('aé', 3)).toBe('aé');
  });

  it('keeps short text unchanged', () => {
    expect(shortenWithNote('abc', 1000)).toBe('abc');
  });
});

describe('resolveCliCommand', () => {
  it('resolves a relative path against the given base directory', () => {
    expect(resolveCliCommand('node_modules/.bin/claude', '/srv/app')).toBe(
      '/srv/app/node_modules/.bin/claude',
    );
    expect(resolveCliCommand('./bin/claude', '/srv/app')).toBe('/srv/app/bin/claude');
    expect(resolveCliCommand('../tools/claude', '/srv/app')).toBe('/srv/tools/claude');
  });

  it('defaults the base directory to the working directory of the server', () => {
    expect(resolveCliCommand('node_modules/.bin/claude')).toBe(
      join(process.cwd(), 'node_modules/.bin/claude'),
    );
  });

  it('leaves absolute paths and bare names (looked up on PATH) alone', () => {
    expect(resolveCliCommand('/usr/local/bin/claude', '/srv/app')).toBe('/usr/local/bin/claude');
    expect(resolveCliCommand('claude', '/srv/app')).toBe('claude');
    expect(resolveCliCommand('claude-2.1', '/srv/app')).toBe('claude-2.1');
  });
});
