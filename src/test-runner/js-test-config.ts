import { existsSync } from 'fs';
import { dirname, isAbsolute, join, normalize, relative, sep } from 'path';
import { readChildFile } from 'src/process';

/**
 * JEST'S AND VITEST'S CONFIGURATION AS A PROJECT NAMES IT: files that configure the tests though
 * no name says so (`testConfigFileKind` knows `jest.config.*`, `vitest.config.*`, `vite.config.*`
 * by name). Read from the project's files as they are now, without a process:
 *
 * - the configuration file the `test` script names with `--config`/`-c` (`jest --config
 *   config/jest.config.base.js`, `vitest run -c conf/vitest.ts`);
 * - the files a configuration names to load into every test run: jest's `setupFiles`,
 *   `setupFilesAfterEnv`, `globalSetup`, `globalTeardown`, `testRunner`, `testSequencer`,
 *   `snapshotResolver`, `resolver` and a `testEnvironment` given by path; vitest's `setupFiles`
 *   and `globalSetup` (in its `test` block, of `vite.config.*` or `vitest.config.*`) — in the
 *   configuration files by name, the one named by `--config`, and package.json's `jest` key. A
 *   setup file that patches `expect` changes what every test's assertions do.
 *
 * The configuration is JavaScript: its values are read by pattern (string literals after the
 * option's name; `<rootDir>` and relative paths from its `rootDir`, else its directory), paths only (`./`, `../`, `<rootDir>/`, absolute): a module name
 * (`jest-extended/all`) is a dependency's. A path without an extension is taken with each of
 * `.js`, `.ts`, `.mjs`, `.cjs` too.
 */

const CONFIG_EXTENSIONS = ['js', 'ts', 'mjs', 'cjs', 'mts', 'cts', 'json'];
const CONFIG_BASES = ['jest.config', 'vitest.config', 'vite.config', 'vitest.workspace'];

/** The options that name files loaded into the test run. */
const FILE_OPTIONS =
  /["']?\b(setupFiles|setupFilesAfterEnv|globalSetup|globalTeardown|testRunner|testSequencer|snapshotResolver|resolver|testEnvironment)\b["']?\s*:\s*(\[[^\]]{0,4000}\]|"[^"\n]*"|'[^'\n]*'|`[^`\n]*`)/g;
const STRING = /"([^"\n]*)"|'([^'\n]*)'|`([^`\n]*)`/g;

const MAX_CONFIG_BYTES = 1024 * 1024;

function toPosix(path: string): string {
  return path.split(sep).join('/');
}

/** `path` relative to the project, or null when it is outside it. */
function inProject(projectPath: string, path: string): string | null {
  const rel = relative(projectPath, path);
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return null;
  return toPosix(normalize(rel));
}

/**
 * The `--config`/`-c` value of a jest or vitest command in `script` (a package.json script), or
 * null. Tokens are split on whitespace, quotes taken off: enough for what such scripts hold.
 */
export function scriptConfigOption(script: string): string | null {
  const tokens = script.split(/\s+/).map((t) => t.replace(/^["']|["']$/g, ''));
  const runner = tokens.findIndex((t) => /(^|\/)(jest|vitest)(\.js)?$/.test(t));
  if (runner < 0) return null;
  for (let i = runner + 1; i < tokens.length; i += 1) {
    const t = tokens[i];
    if (/^(&&|\|\||;|\|)$/.test(t)) break;
    const joined = /^(?:--config|-c)=(.+)$/.exec(t);
    if (joined !== null) return joined[1].replace(/^["']|["']$/g, '');
    if ((t === '--config' || t === '-c') && i + 1 < tokens.length) return tokens[i + 1];
  }
  return null;
}

/** The paths a configuration's text names to load into the test run (`FILE_OPTIONS`). */
function namedFiles(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(FILE_OPTIONS)) {
    for (const s of m[2].matchAll(STRING)) out.push(s[1] ?? s[2] ?? s[3] ?? '');
  }
  return out.filter((p) => /^(\.{1,2}\/|\/|<rootDir>\/)/.test(p));
}

/** `named` as project-relative candidates, resolved against `configDir` (its `<rootDir>`). */
function resolveNamed(projectPath: string, configDir: string, named: string): string[] {
  const path = named.startsWith('<rootDir>/')
    ? join(configDir, named.slice('<rootDir>/'.length))
    : isAbsolute(named)
      ? named
      : join(configDir, named);
  const base = inProject(projectPath, path);
  if (base === null) return [];
  const hasExtension = /\.[a-z]+$/i.test(base.split('/').at(-1) ?? '');
  return hasExtension ? [base] : [base, ...['js', 'ts', 'mjs', 'cjs'].map((e) => `${base}.${e}`)];
}

function packageJson(projectPath: string): Record<string, unknown> | null {
  const text = readChildFile(join(projectPath, 'package.json'), MAX_CONFIG_BYTES);
  if (text === null) return null;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/**
 * The files of the project at `projectPath` that configure jest's or vitest's runs without being
 * named so (project-relative, `/`-separated): the configuration the `test` script names, and the
 * files the configurations name to load. Files need not exist (a name is listed with each
 * extension it may have).
 */
export function jsTestConfigFiles(projectPath: string): Set<string> {
  const found = new Set<string>();
  const configs: string[] = [];
  const pkg = packageJson(projectPath);
  const scripts = pkg?.scripts;
  if (typeof scripts === 'object' && scripts !== null) {
    for (const name of ['test', 'pretest', 'posttest']) {
      const script = (scripts as Record<string, unknown>)[name];
      const config = typeof script === 'string' ? scriptConfigOption(script) : null;
      const rel = config === null ? null : inProject(projectPath, join(projectPath, config));
      if (rel !== null) {
        found.add(rel);
        configs.push(rel);
      }
    }
  }
  if (pkg !== null && pkg.jest !== undefined) {
    for (const named of namedFiles(JSON.stringify(pkg.jest))) {
      for (const rel of resolveNamed(projectPath, projectPath, named)) found.add(rel);
    }
  }
  for (const base of CONFIG_BASES) {
    for (const ext of CONFIG_EXTENSIONS) {
      if (existsSync(join(projectPath, `${base}.${ext}`))) configs.push(`${base}.${ext}`);
    }
  }
  for (const rel of configs) {
    const text = readChildFile(join(projectPath, rel), MAX_CONFIG_BYTES);
    if (text === null) continue;
    // `<rootDir>` is the configuration's directory, or its `rootDir` (resolved from there).
    const rootDir = /["']?\brootDir\b["']?\s*:\s*["'`]([^"'`\n]+)["'`]/.exec(text)?.[1];
    const configDir = join(dirname(join(projectPath, rel)), rootDir ?? '.');
    for (const named of namedFiles(text)) {
      for (const file of resolveNamed(projectPath, configDir, named)) found.add(file);
    }
  }
  return found;
}
