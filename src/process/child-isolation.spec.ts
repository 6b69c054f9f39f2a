import { chmodSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildChildIsolation,
  bwrapArgs,
  ChildIdentity,
  findOnPath,
  IsolationError,
  lookupUser,
  readableBy,
  usableBy,
} from 'src/process/child-isolation';
import { checkIsolation } from 'src/process/isolation-setup';

const SANDBOX = { command: '/usr/bin/bwrap', readOnly: ['/usr'], hidden: [] };

describe('child isolation', () => {
  let dir: string;
  const stranger: ChildIdentity = { user: 'agent', uid: 4242, gid: 4242, home: '/home/agent' };

  beforeAll(() => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'cta-iso-')));
    chmodSync(dir, 0o755);
    writeFileSync(
      join(dir, 'passwd'),
      'root:x:0:0:root:/root:/bin/bash\nagent:x:4242:4242::/home/agent:/bin/sh\n',
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('finds RUN_AS_USER by name or takes uid:gid', () => {
    expect(lookupUser('agent', join(dir, 'passwd'))).toEqual(stranger);
    expect(lookupUser('4242:100', join(dir, 'passwd'))).toEqual({ ...stranger, gid: 100 });
    expect(lookupUser('5000:5000', join(dir, 'passwd'))).toEqual({
      user: 'uid5000',
      uid: 5000,
      gid: 5000,
      home: '/',
    });
    expect(() => lookupUser('nosuch', join(dir, 'passwd'))).toThrow(/no such user/);
  });

  it('tells from permission bits whether another user can read a file', () => {
    const open = join(dir, 'open.env');
    const closed = join(dir, 'closed.env');
    const hidden = join(dir, 'private', 'inner.env');
    writeFileSync(open, 'A=1');
    writeFileSync(closed, 'A=1');
    mkdirSync(join(dir, 'private'));
    writeFileSync(hidden, 'A=1');
    chmodSync(open, 0o644);
    chmodSync(closed, 0o600);
    chmodSync(hidden, 0o644);
    chmodSync(join(dir, 'private'), 0o700);
    expect(readableBy(open, stranger)).toBe(true);
    expect(readableBy(closed, stranger)).toBe(false);
    expect(readableBy(hidden, stranger)).toBe(false);
    expect(readableBy(join(dir, 'missing'), stranger)).toBe(false);
  });

  it('tells whether another user may work in a directory: read, write and search it, reach it', () => {
    const make = (name: string, mode: number, parent = dir): string => {
      const path = join(parent, name);
      mkdirSync(path);
      chmodSync(path, mode);
      return path;
    };
    const open = make('usable-open', 0o777);
    expect(usableBy(open, stranger)).toBe(true);
    expect(usableBy(make('usable-read-only', 0o755), stranger)).toBe(false);
    expect(usableBy(make('usable-private', 0o700), stranger)).toBe(false);
    const shut = make('usable-shut', 0o700);
    expect(usableBy(make('inner', 0o777, shut), stranger)).toBe(false);
    expect(usableBy(join(dir, 'missing'), stranger)).toBe(false);
  });

  it('refuses a root server without RUN_AS_USER unless ALLOW_ROOT, and secrets its user can read', () => {
    const none = { identity: null, sandbox: null };
    expect(checkIsolation(none, 0, false, []).refusal).toMatch(
      /runs as root.*RUN_AS_USER.*ALLOW_ROOT/,
    );
    expect(checkIsolation(none, 0, true, [])).toEqual({
      refusal: null,
      warnings: [expect.stringMatching(/RUN AS ROOT/)],
      summary: 'children run as root, no sandbox',
      isolated: false,
    });
    expect(checkIsolation({ identity: null, sandbox: SANDBOX }, 1000, false, [])).toMatchObject({
      summary: "children run as this server's user, inside bubblewrap",
      isolated: true,
    });
    expect(checkIsolation(none, 1000, false, []).refusal).toBeNull();
    const open = join(dir, 'open.env');
    const closed = join(dir, 'closed.env');
    const withUser = { identity: stranger, sandbox: null };
    expect(checkIsolation(withUser, 0, false, [open, closed]).refusal).toBe(
      `${open} can be read by RUN_AS_USER=agent, which the agent runs as: chmod 600 the file(s) (or 700 their directory)`,
    );
    expect(checkIsolation(withUser, 0, false, [closed])).toMatchObject({
      refusal: null,
      summary: 'children run as agent (uid 4242), no sandbox',
      isolated: true,
    });
  });

  it("refuses a RUN_AS_USER that could change the server's installation, directory or database", () => {
    const open = join(dir, 'open');
    const safe = join(dir, 'safe');
    mkdirSync(open, { mode: 0o777 });
    chmodSync(open, 0o777);
    mkdirSync(join(open, 'data'), { mode: 0o755 });
    mkdirSync(safe, { mode: 0o755 });
    chmodSync(safe, 0o755);
    const sticky = join(dir, 'sticky');
    mkdirSync(sticky);
    chmodSync(sticky, 0o1777);
    mkdirSync(join(sticky, 'install'), { mode: 0o755 });
    const withUser = { identity: stranger, sandbox: null };
    // Writable itself, or below a directory it may rename entries of (not a sticky one's).
    expect(
      checkIsolation(
        withUser,
        0,
        false,
        [],
        [safe, open, join(open, 'data'), join(sticky, 'install')],
      ).refusal,
    ).toBe(
      `${open}, ${join(open, 'data')} can be changed by RUN_AS_USER=agent, which the agent runs as, and the server (as root) runs its code and reads its settings and database from there: make them root's and not writable by that user, nor the directories above them`,
    );
    expect(
      checkIsolation(withUser, 0, false, [], [safe, join(sticky, 'install')]).refusal,
    ).toBeNull();
    // Without RUN_AS_USER there is no other user to keep out.
    expect(
      checkIsolation({ identity: null, sandbox: null }, 1000, false, [], [open]).refusal,
    ).toBeNull();
  });

  const isolationInput = {
    sandbox: 'none' as const,
    sandboxReadOnly: [],
    serverPaths: [],
    pathVariable: process.env.PATH,
  };

  it('needs root to run children as another user', () => {
    const input = { ...isolationInput, runAsUser: '4242:4242' };
    expect(buildChildIsolation({ ...input, uid: 0 }).identity).toMatchObject({ uid: 4242 });
    expect(() => buildChildIsolation({ ...input, uid: 1234 })).toThrow(IsolationError);
    expect(buildChildIsolation({ ...input, runAsUser: undefined, uid: 1234 })).toEqual({
      identity: null,
      sandbox: null,
    });
  });

  it('refuses RUN_AS_USER naming root, by name or by uid: that is ALLOW_ROOT, said', () => {
    for (const runAsUser of ['root', '0:0', '0:4242']) {
      expect(() => buildChildIsolation({ ...isolationInput, runAsUser, uid: 0 })).toThrow(
        new IsolationError(
          `RUN_AS_USER=${runAsUser} is root (uid 0): name an unprivileged user, or leave it unset and set ALLOW_ROOT=true to run children as root (not recommended)`,
        ),
      );
    }
  });

  it("refuses RUN_AS_USER whose group is root's: children would have gid 0", () => {
    expect(() => buildChildIsolation({ ...isolationInput, runAsUser: '4242:0', uid: 0 })).toThrow(
      new IsolationError(
        "RUN_AS_USER=4242:0 has root's group (gid 0), which the children would run with: give it a group of its own",
      ),
    );
  });

  it('refuses SANDBOX=bwrap when bwrap is not on PATH', () => {
    expect(() =>
      buildChildIsolation({
        runAsUser: undefined,
        sandbox: 'bwrap',
        sandboxReadOnly: [],
        serverPaths: [],
        uid: 1234,
        pathVariable: dir,
      }),
    ).toThrow(/bwrap is not on PATH/);
  });

  it('finds commands on PATH', () => {
    expect(findOnPath('node', process.env.PATH)).toMatch(/\/node$/);
    expect(findOnPath('definitely-not-a-command', process.env.PATH)).toBeNull();
    expect(findOnPath(join(dir, 'passwd'), '')).toBe(join(dir, 'passwd'));
  });

  it('passes over PATH entries that are files, directories of its name and files it cannot run', () => {
    const [notRunnable, directory, runnable] = ['a', 'b', 'c'].map((name) => join(dir, name));
    mkdirSync(notRunnable);
    mkdirSync(join(directory, 'tool'), { recursive: true });
    mkdirSync(runnable);
    writeFileSync(join(notRunnable, 'tool'), '#!/bin/sh\n', { mode: 0o644 });
    writeFileSync(join(runnable, 'tool'), '#!/bin/sh\n', { mode: 0o755 });
    const path = [join(dir, 'passwd'), notRunnable, directory, runnable].join(':');
    expect(findOnPath('tool', path)).toBe(join(runnable, 'tool'));
  });

  it('builds a sandbox that masks the server, shows the CLI and lets only the project be written', () => {
    const serverDir = join(dir, 'server');
    const secret = join(dir, 'secret.txt');
    mkdirSync(serverDir);
    writeFileSync(secret, 'x');
    const args = bwrapArgs(
      { command: '/usr/bin/bwrap', readOnly: ['/usr', dir], hidden: [serverDir, secret] },
      {
        command: '/usr/bin/node',
        args: ['--test'],
        cwd: '/work/project',
        env: {},
        writable: ['/work/project'],
        readable: [join(serverDir, 'node_modules', 'cli')],
        cliHome: true,
      },
      '/home/agent',
    );
    const text = args.join(' ');
    expect(args.slice(0, 3)).toEqual(['--die-with-parent', '--unshare-all', '--share-net']);
    expect(text).toContain(`--ro-bind /usr /usr --ro-bind ${dir} ${dir}`);
    expect(text).toContain('--proc /proc --dev /dev --tmpfs /tmp');
    expect(text).toContain(`--ro-bind /dev/null ${secret}`);
    expect(text).toContain(
      `--tmpfs ${serverDir} --ro-bind /dev/null ${secret} --ro-bind ${serverDir}/node_modules/cli ${serverDir}/node_modules/cli`,
    );
    expect(text).toContain(
      '--tmpfs /home/agent --bind-try /home/agent/.claude /home/agent/.claude --bind-try /home/agent/.claude.json /home/agent/.claude.json',
    );
    expect(
      text.endsWith(
        '--bind /work/project /work/project --chdir /work/project -- /usr/bin/node --test',
      ),
    ).toBe(true);
    expect(text.indexOf(`/dev/null ${secret}`)).toBeGreaterThan(text.indexOf(`--ro-bind ${dir}`));
  });

  it("shows the CLI's own ~/.claude to the CLI alone: a test command's HOME is empty", () => {
    const spawn = {
      command: '/usr/bin/node',
      args: ['--test'],
      cwd: '/work/project',
      env: {},
      writable: ['/work/project'],
      readable: [],
    };
    const test = bwrapArgs(SANDBOX, spawn, '/home/agent').join(' ');
    expect(test).toContain('--tmpfs /home/agent');
    expect(test).not.toContain('.claude');
    const cli = bwrapArgs(SANDBOX, { ...spawn, cliHome: true }, '/home/agent').join(' ');
    expect(cli).toContain(
      '--tmpfs /home/agent --bind-try /home/agent/.claude /home/agent/.claude --bind-try /home/agent/.claude.json /home/agent/.claude.json',
    );
  });

  it('never masks a system directory it shows (a server started in /)', () => {
    const args = bwrapArgs(
      { command: '/usr/bin/bwrap', readOnly: ['/usr'], hidden: ['/'] },
      { command: '/usr/bin/git', args: [], cwd: '/p', env: {}, writable: ['/p'], readable: [] },
      '/',
    );
    expect(args).not.toContain('--tmpfs /');
    expect(args.filter((a) => a === '--tmpfs')).toHaveLength(1);
    expect(args).not.toContain('--bind-try');
  });
});
