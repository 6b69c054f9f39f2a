import { PYTEST_CONFIG_SECTIONS } from 'src/test-runner';

/**
 * PYTEST'S OPTIONS, changed: what a change did to the pytest sections of a configuration file
 * (`pytest.ini` `[pytest]`, `tox.ini` `[pytest]`, `setup.cfg` `[tool:pytest]`, `pyproject.toml`
 * `[tool.pytest.ini_options]` and `[tool.pytest]`, ...). Any change there is test configuration,
 * but markers added: a list of the options that choose the tests misses the next one
 * (`pythonpath = stubs .` had every test import a stub in place of the code under test;
 * `usefixtures`, `confcutdir`, `required_plugins`, `filterwarnings`, `xfail_strict`, ... change
 * what every test runs against or how it ends), and pytest reads only the first configuration
 * file it finds, so a pytest section added or removed changes every option. Registering a marker
 * (`markers`, entries added, none changed or removed) only names what the new tests may use.
 */

/** An option changed: `[section] key`, its value before and after (undefined: not set). */
export interface OptionChange {
  key: string;
  before: string | undefined;
  after: string | undefined;
}

/**
 * The entries of the sections `sections` of an INI or TOML file, by `section key`, their values'
 * lines trimmed and joined by newlines (continuation lines included), and the sections present
 * (by ` section`, valued `present`). Light parsing, alike on both sides of a change: enough to
 * tell what changed.
 */
function configEntries(
  text: string,
  sections: readonly string[],
  toml: boolean,
): Map<string, string> {
  const entries = new Map<string, string>();
  let section: string | null = null;
  let key: string | null = null;
  const entry = toml
    ? /^[ \t]*([A-Za-z_][\w.-]*)[ \t]*=(.*)$/
    : /^([A-Za-z_][\w.-]*)[ \t]*[=:](.*)$/;
  for (const line of text.split('\n')) {
    // `[section]`, or a TOML array of tables (`[[tool.mypy.overrides]]`): either ends the last.
    const header = /^[ \t]*\[\[?[ \t]*([^\]]+?)[ \t]*\]\]?[ \t]*(?:[#;].*)?$/.exec(line);
    if (header !== null) {
      section = sections.includes(header[1]) ? header[1] : null;
      if (section !== null) entries.set(` ${section}`, 'present');
      key = null;
      continue;
    }
    if (section === null || /^[ \t]*[#;]/.test(line)) continue;
    const m = entry.exec(line);
    if (m !== null) {
      key = `${section} ${m[1]}`;
      entries.set(key, m[2].trim());
    } else if (key !== null && line.trim() !== '') {
      entries.set(key, `${entries.get(key)}\n${line.trim()}`.trim());
    }
  }
  return entries;
}

/** The markers a `markers` value registers: its lines (INI), its strings (TOML). */
function markerEntries(value: string | undefined, toml: boolean): string[] {
  if (value === undefined) return [];
  if (toml) return [...value.matchAll(/"(?:\\.|[^"\\])*"|'[^']*'/g)].map((m) => m[0]);
  return value
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

/** Whether `key` went from `before` to `after` by markers added alone. */
function markersAdded(
  key: string,
  before: string | undefined,
  after: string | undefined,
  toml: boolean,
): boolean {
  if (key.split(' ')[1] !== 'markers') return false;
  const now = new Set(markerEntries(after, toml));
  return markerEntries(before, toml).every((marker) => now.has(marker));
}

/**
 * The pytest options of the configuration file `fileName` (its base name) that went from `before`
 * to `after`, markers added aside; a pytest section added or removed is one too (key
 * `the section [section]`).
 */
export function changedPytestOptions(
  fileName: string,
  before: string,
  after: string,
): OptionChange[] {
  const sections = PYTEST_CONFIG_SECTIONS[fileName] ?? [];
  const toml = fileName.endsWith('.toml');
  const [was, now] = [configEntries(before, sections, toml), configEntries(after, sections, toml)];
  return [...new Set([...was.keys(), ...now.keys()])]
    .filter((key) => was.get(key) !== now.get(key))
    .filter((key) => !markersAdded(key, was.get(key), now.get(key), toml))
    .map((key) => ({
      key: key.startsWith(' ') ? `the section [${key.slice(1)}]` : `[${key.replace(' ', '] ')}`,
      before: was.get(key),
      after: now.get(key),
    }));
}
