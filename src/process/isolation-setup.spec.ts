import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from 'src/config';
import { bwrapArgs } from 'src/process/child-isolation';
import { isolationFromConfig } from 'src/process/isolation-setup';

describe('isolationFromConfig', () => {
  let dir: string;
  const path = process.env.PATH;

  beforeAll(() => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'cta-iso-setup-')));
    // A stand-in bwrap: only found on PATH, never run here.
    mkdirSync(join(dir, 'bin'));
    writeFileSync(join(dir, 'bin', 'bwrap'), '#!/bin/sh\n', { mode: 0o755 });
    process.env.PATH = `${join(dir, 'bin')}:${path}`;
  });
  afterAll(() => {
    process.env.PATH = path;
    rmSync(dir, { recursive: true, force: true });
  });

  it("masks every task's workspace and the project roots in the sandbox, even below a directory it shows", () => {
    const shown = join(dir, 'opt');
    const workspaces = join(shown, 'cta', 'workspaces');
    const projects = join(shown, 'projects');
    mkdirSync(projects, { recursive: true });
    const isolation = isolationFromConfig(
      loadConfig({
        SANDBOX: 'bwrap',
        SANDBOX_READONLY_PATHS: shown,
        DATABASE_URL: `sqlite:///${join(dir, 'db', 'tasks.db')}`,
        WORKSPACES_DIR: workspaces,
        ALLOWED_PROJECT_ROOTS: projects,
      }),
    );
    // WORKSPACES_DIR is made once the server starts, after its isolation was decided.
    const workspace = join(workspaces, 'a-task');
    mkdirSync(workspace, { recursive: true });
    const args = bwrapArgs(
      isolation.sandbox!,
      {
        command: '/usr/bin/true',
        args: [],
        cwd: workspace,
        env: {},
        writable: [workspace],
        readable: [],
      },
      '/',
    ).join(' ');
    expect(args).toContain(`--tmpfs ${workspaces} `);
    expect(args).toContain(`--tmpfs ${projects} `);
    expect(args.indexOf(`--bind ${workspace} ${workspace}`)).toBeGreaterThan(
      args.indexOf(`--tmpfs ${workspaces} `),
    );
  });
});
