import { lstatSync, mkdirSync, rmdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';

/**
 * WHERE THE CLAUDE COMMAND LINE IS BUILT. Every option uses the `--flag=value` form (variadic
 * options such as `--allowedTools` would otherwise swallow the prompt) and the prompt comes last
 * after `--`, so a prompt starting with `-` is never read as an option. No shell is involved: each
 * element reaches the CLI byte for byte.
 *
 * Linux caps one argv string at 128 KiB (E2BIG). A prompt over MAX_INLINE_PROMPT_BYTES is written
 * to `<project>/.claude-task/prompt-<conversation>-<time>.md` and the argv prompt tells the agent
 * to read that file first (with the prompt's opening kept inline). When the file cannot be written
 * safely (the folder is a symlink or not a directory, or the disk refuses), the prompt is shortened
 * instead, keeping its start and end with a note saying how much was cut. The turn runner removes
 * the file (and the folder when it is left empty) once the turn is over (removePromptFile).
 */

export type PermissionMode = 'default' | 'acceptEdits' | 'plan' | 'bypassPermissions';

export interface ClaudeArgvOptions {
  prompt: string;
  conversationId: string;
  resume: boolean;
  model?: string;
  permissionMode: PermissionMode;
  allowedTools: readonly string[];
  disallowedTools: readonly string[];
  /** 0 leaves the CLI's default. */
  maxTurns: number;
  appendSystemPrompt?: string;
}

export interface PreparedPrompt {
  /** What goes after `--`. */
  argvPrompt: string;
  /** The file holding the full prompt when it was too large for argv, relative to the project. */
  promptFile: string | null;
  /** True when text was cut because no file could be written. */
  shortened: boolean;
}

/** Linux MAX_ARG_STRLEN is 131072 bytes including the terminating NUL; keep a margin. */
export const MAX_INLINE_PROMPT_BYTES = 120 * 1024;
/** Folder inside the project for prompts too large for argv. */
export const PROMPT_DIR = '.claude-task';
/** Opening of a large prompt kept inline next to the pointer to its file. */
const INLINE_EXCERPT_BYTES = 8 * 1024;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Cuts `text` to at most `maxBytes` UTF-8 bytes without splitting a character. */
export function cutToBytes(text: string, maxBytes: number): string {
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= maxBytes) return text;
  let end = maxBytes;
  while (end > 0 && (buf[end] & 0xc0) === 0x80) end--;
  return buf.subarray(0, end).toString('utf8');
}

/** Keeps the start and the end of `text` within `maxBytes`, with a note of what was cut between. */
export function shortenWithNote(text: string, maxBytes: number): string {
  const total = Buffer.byteLength(text);
  if (total <= maxBytes) return text;
  const budget = maxBytes - 200;
  const headText = cutToBytes(text, Math.floor(budget * 0.6));
  const tailBytes = budget - Buffer.byteLength(headText);
  const reversedTail = Buffer.from(text, 'utf8');
  let start = reversedTail.length - tailBytes;
  while (start < reversedTail.length && (reversedTail[start] & 0xc0) === 0x80) start++;
  const tailText = reversedTail.subarray(start).toString('utf8');
  const cut = total - Buffer.byteLength(headText) - Buffer.byteLength(tailText);
  return `${headText}\n\n[... ${cut} bytes of this message were cut here because it was too long ...]\n\n${tailText}`;
}

function writablePromptDir(projectDir: string): string | null {
  const dir = join(projectDir, PROMPT_DIR);
  try {
    const st = lstatSync(dir);
    return st.isDirectory() && !st.isSymbolicLink() ? dir : null;
  } catch {
    try {
      mkdirSync(dir, { mode: 0o755 });
      return dir;
    } catch {
      return null;
    }
  }
}

/**
 * Makes `prompt` fit one argv string: unchanged when small enough, otherwise written to a file in
 * `projectDir` (see the file comment) or shortened. A NUL, which no argv string may hold, becomes
 * U+FFFD: a prompt quotes what the agent and the tests printed, and one of them printing a NUL
 * must not keep the next turn from starting.
 */
export function preparePrompt(
  projectDir: string,
  given: string,
  conversationId: string,
  now = Date.now(),
): PreparedPrompt {
  const prompt = given.includes('\0') ? given.replaceAll('\0', '\uFFFD') : given;
  const bytes = Buffer.byteLength(prompt);
  if (bytes <= MAX_INLINE_PROMPT_BYTES)
    return { argvPrompt: prompt, promptFile: null, shortened: false };
  const dir = writablePromptDir(projectDir);
  if (dir !== null) {
    const name = `prompt-${conversationId}-${now}.md`;
    try {
      writeFileSync(join(dir, name), prompt, {
        flag: 'wx',
        mode: 0o644,
      });
      const relative = `${PROMPT_DIR}/${name}`;
      const excerpt = cutToBytes(prompt, INLINE_EXCERPT_BYTES);
      return {
        argvPrompt:
          `This message is ${bytes} bytes, too long to pass inline. The complete message is in the file ` +
          `\`${relative}\` in the project directory: read that whole file first and follow it. ` +
          `Its opening, for orientation:\n\n${excerpt}\n\n[... continued in ${relative} ...]`,
        promptFile: relative,
        shortened: false,
      };
    } catch {
      // Fall through to shortening.
    }
  }
  return {
    argvPrompt: shortenWithNote(prompt, MAX_INLINE_PROMPT_BYTES),
    promptFile: null,
    shortened: true,
  };
}

/**
 * The CLI command as it is spawned. CLAUDE_CLI_COMMAND is a name looked up on PATH (`claude`), an
 * absolute path, or a relative path (`node_modules/.bin/claude`, `./bin/claude`): a relative path
 * is meant from where the server was started, but the CLI is spawned with cwd = the project (and
 * `--version` in a temporary directory), so it is resolved against `baseDir` (the server's working
 * directory) first. A name without `/` is left to PATH lookup.
 */
export function resolveCliCommand(command: string, baseDir: string = process.cwd()): string {
  return command.includes('/') && !isAbsolute(command) ? resolve(baseDir, command) : command;
}

/**
 * Removes a prompt file written by preparePrompt (`promptFile`, relative to `projectDir`), then
 * the PROMPT_DIR folder if that left it empty. Never throws: a file already gone, a folder the
 * agent filled with other files, or one it swapped for a symlink is left as it is.
 */
export function removePromptFile(projectDir: string, promptFile: string): void {
  const dir = join(projectDir, PROMPT_DIR);
  try {
    const st = lstatSync(dir);
    if (!st.isDirectory() || st.isSymbolicLink()) return;
  } catch {
    return;
  }
  try {
    unlinkSync(join(projectDir, promptFile));
  } catch {
    // Already gone.
  }
  try {
    rmdirSync(dir);
  } catch {
    // Not empty (other prompt files or the agent's own files): keep it.
  }
}

/** The argv for one turn (without the command itself). `argvPrompt` must already fit (see preparePrompt). */
export function buildClaudeArgv(opts: ClaudeArgvOptions): string[] {
  if (!UUID.test(opts.conversationId)) {
    throw new TypeError(
      `conversation id must be a UUID, got ${JSON.stringify(opts.conversationId)}`,
    );
  }
  const args = [
    '-p',
    '--output-format=stream-json',
    '--verbose',
    `--permission-mode=${opts.permissionMode}`,
  ];
  if (opts.model) args.push(`--model=${opts.model}`);
  if (opts.allowedTools.length > 0) args.push(`--allowedTools=${opts.allowedTools.join(',')}`);
  if (opts.disallowedTools.length > 0)
    args.push(`--disallowedTools=${opts.disallowedTools.join(',')}`);
  if (opts.maxTurns > 0) args.push(`--max-turns=${opts.maxTurns}`);
  if (opts.appendSystemPrompt) {
    args.push(
      `--append-system-prompt=${shortenWithNote(opts.appendSystemPrompt, MAX_INLINE_PROMPT_BYTES)}`,
    );
  }
  args.push(
    opts.resume ? `--resume=${opts.conversationId}` : `--session-id=${opts.conversationId}`,
  );
  args.push('--', opts.prompt);
  return args;
}
