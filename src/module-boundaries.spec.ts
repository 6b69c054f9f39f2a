import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * Each folder directly under `src/` with an `index.ts` is a module, and its `index.ts` is all it
 * offers the rest of the code. These rules keep it that way:
 *
 * - code outside a module imports it only through its index (`src/tasks`, never
 *   `src/tasks/task.entity`);
 * - code inside a module imports its own files directly, never its own index (that would make
 *   the module depend on itself at load time);
 * - imports are absolute (`src/...`), so a file's imports read as a map of what it depends on;
 * - modules depend on each other without cycles, so each can be read (and loaded) on top of the
 *   ones below it.
 */

const SRC = __dirname;

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return tsFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

const MODULES = readdirSync(SRC, { withFileTypes: true })
  .filter((e) => e.isDirectory() && existsSync(join(SRC, e.name, 'index.ts')))
  .map((e) => e.name)
  .sort();

/** The module a file under src belongs to; null for the root files (main.ts, app.module.ts). */
function moduleOf(file: string): string | null {
  const first = relative(SRC, file).split('/')[0];
  return MODULES.includes(first) ? first : null;
}

interface Import {
  file: string;
  specifier: string;
}

function importsOf(file: string): Import[] {
  const source = readFileSync(file, 'utf8');
  const pattern = /^\s*(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?'([^']+)'/gm;
  return [...source.matchAll(pattern)].map((m) => ({ file: relative(SRC, file), specifier: m[1] }));
}

const FILES = tsFiles(SRC);
const IMPORTS = FILES.flatMap((file) =>
  importsOf(file).map((i) => ({ ...i, from: moduleOf(file), isIndex: file.endsWith('index.ts') })),
);

describe('module boundaries', () => {
  it('finds the modules and their imports', () => {
    expect(MODULES).toEqual(
      expect.arrayContaining(['claude-cli', 'orchestrator', 'simulated-human', 'tasks']),
    );
    expect(IMPORTS.length).toBeGreaterThan(200);
  });

  it('imports another module only through its index', () => {
    const forbidden = IMPORTS.filter(({ specifier, from }) => {
      const match = /^src\/([^/]+)\/.+/.exec(specifier);
      return match !== null && MODULES.includes(match[1]) && match[1] !== from;
    }).map(({ file, specifier }) => `${file}: ${specifier}`);
    expect(forbidden).toEqual([]);
  });

  it("never imports its own module's index", () => {
    const selfImports = IMPORTS.filter(
      ({ specifier, from, isIndex }) => !isIndex && from !== null && specifier === `src/${from}`,
    ).map(({ file, specifier }) => `${file}: ${specifier}`);
    expect(selfImports).toEqual([]);
  });

  it('uses absolute imports only', () => {
    const relativeImports = IMPORTS.filter(({ specifier }) => specifier.startsWith('.')).map(
      ({ file, specifier }) => `${file}: ${specifier}`,
    );
    expect(relativeImports).toEqual([]);
  });

  it('has no cycle between modules', () => {
    const edges = new Map<string, Set<string>>(MODULES.map((m) => [m, new Set<string>()]));
    for (const { specifier, from } of IMPORTS) {
      const to = /^src\/([^/]+)$/.exec(specifier)?.[1];
      if (from !== null && to !== undefined && to !== from && MODULES.includes(to)) {
        edges.get(from)!.add(to);
      }
    }
    const cycles: string[] = [];
    const visit = (module: string, path: string[]): void => {
      if (path.includes(module)) {
        cycles.push([...path.slice(path.indexOf(module)), module].join(' -> '));
        return;
      }
      for (const next of edges.get(module)!) visit(next, [...path, module]);
    };
    for (const module of MODULES) visit(module, []);
    expect(cycles).toEqual([]);
  });
});
