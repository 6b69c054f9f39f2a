import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandPaths } from 'src/process/command-paths';

describe('CommandPaths', () => {
  let dir: string;
  let now: number;
  let paths: CommandPaths;
  let first: string;
  let second: string;
  let pathVariable: string;

  const tool = (where: string, mode = 0o755) => {
    writeFileSync(join(where, 'tool'), '#!/bin/sh\n');
    chmodSync(join(where, 'tool'), mode);
    return join(where, 'tool');
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cta-commands-'));
    [first, second] = ['first', 'second'].map((name) => join(dir, name));
    mkdirSync(first);
    mkdirSync(second);
    pathVariable = [first, second].join(':');
    now = 1_000_000;
    paths = new CommandPaths(() => now);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('finds a command as findOnPath does, and a path with a slash as it is', () => {
    expect(paths.find('tool', pathVariable)).toBeNull();
    const found = tool(second);
    expect(paths.find('tool', pathVariable)).toBe(found);
    expect(paths.find(found, '')).toBe(found);
    expect(paths.find('tool', first)).toBeNull();
  });

  it('keeps what it found for a while: one installed earlier on PATH meanwhile is seen once that is up', () => {
    const later = tool(second);
    expect(paths.find('tool', pathVariable)).toBe(later);
    const earlier = tool(first);
    now += 9_000;
    expect(paths.find('tool', pathVariable)).toBe(later);
    now += 1_000;
    expect(paths.find('tool', pathVariable)).toBe(earlier);
  });

  it('looks again at once when the command it found is gone or can no longer be run', () => {
    const earlier = tool(first);
    const later = tool(second);
    expect(paths.find('tool', pathVariable)).toBe(earlier);
    rmSync(earlier);
    expect(paths.find('tool', pathVariable)).toBe(later);
    chmodSync(later, 0o644);
    expect(paths.find('tool', pathVariable)).toBeNull();
  });
});
