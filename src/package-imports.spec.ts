import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';

/**
 * Every package the code imports must be declared in package.json, so `npm ci` installs it even
 * when no other dependency happens to pull it in: production code (src, migrations) from
 * `dependencies`; tests, the SDK generator and ormconfig.ts (the TypeORM CLI's config, run through ts-node) from
 * `dependencies` or `devDependencies`. A type-only import may be
 * satisfied by the package's `@types/...` instead.
 */

const ROOT = join(__dirname, '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

interface Import {
  file: string;
  name: string;
  typeOnly: boolean;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'fixtures' || e.name === '.tmp' ? [] : tsFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

/** The package an import specifier names, or null for relative, path-mapped and node: imports. */
function packageName(specifier: string): string | null {
  if (/^(\.|\/|node:|src\/|test\/|migrations\/|sdk\/)/.test(specifier)) return null;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  return builtinModules.includes(name) ? null : name;
}

function importsOf(file: string): Import[] {
  const source = readFileSync(file, 'utf8');
  const found: Import[] = [];
  const patterns = [
    /^\s*import\s+(type\s+)?(?:[^'";]*?\s+from\s+)?'([^']+)'/gm,
    /^\s*export\s+(type\s+)?[^'";]*?\s+from\s+'([^']+)'/gm,
    /\brequire\(\s*'([^']+)'\s*\)/g,
  ];
  for (const pattern of patterns) {
    for (const m of source.matchAll(pattern)) {
      const specifier = m.length === 3 ? m[2] : m[1];
      const name = packageName(specifier);
      if (name)
        found.push({ file: relative(ROOT, file), name, typeOnly: m.length === 3 && !!m[1] });
    }
  }
  return found;
}

function typesPackage(name: string): string {
  return `@types/${name.startsWith('@') ? name.slice(1).replace('/', '__') : name}`;
}

function undeclared(imports: Import[], declared: Record<string, string>): string[] {
  return imports
    .filter((i) => !(i.name in declared) && !(i.typeOnly && typesPackage(i.name) in declared))
    .map((i) => `${i.file}: ${i.name}`);
}

describe('package.json declares every imported package', () => {
  const production = [
    ...tsFiles(join(ROOT, 'src')).filter((f) => !f.endsWith('.spec.ts')),
    ...tsFiles(join(ROOT, 'migrations')),
  ];
  const tests = [
    ...tsFiles(join(ROOT, 'src')).filter((f) => f.endsWith('.spec.ts')),
    ...tsFiles(join(ROOT, 'test')),
    ...tsFiles(join(ROOT, 'sdk')),
    join(ROOT, 'ormconfig.ts'),
  ];

  it('finds the imports it checks', () => {
    const names = production.flatMap(importsOf).map((i) => i.name);
    expect(names).toEqual(expect.arrayContaining(['@nestjs/common', 'express', 'typeorm']));
  });

  it('production code imports only from dependencies', () => {
    expect(undeclared(production.flatMap(importsOf), pkg.dependencies)).toEqual([]);
  });

  it('tests and tools import only from dependencies or devDependencies', () => {
    const declared = { ...pkg.dependencies, ...pkg.devDependencies };
    expect(undeclared(tests.flatMap(importsOf), declared)).toEqual([]);
  });
});
