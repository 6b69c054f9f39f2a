import { AsyncLocalStorage } from 'node:async_hooks';
import { getPriority, tmpdir } from 'node:os';
import { lastValueFrom, map, toArray } from 'rxjs';
import { AppConfig } from 'src/config';
import { NO_ISOLATION } from 'src/process/child-isolation';
import { ProcessLauncher } from 'src/process/process-launcher';

describe('ProcessLauncher', () => {
  const launcher = new ProcessLauncher();
  afterAll(() => launcher.onModuleDestroy());

  it("delivers a run's events in the async context it was started in (a task's log fields)", async () => {
    const context = new AsyncLocalStorage<string>();
    const run = (name: string) =>
      context.run(name, () =>
        lastValueFrom(
          launcher
            .run({
              command: process.execPath,
              args: ['-e', 'process.stdout.write("out"); process.stderr.write("err")'],
              cwd: tmpdir(),
              env: { PATH: process.env.PATH },
              killGraceMs: 1000,
              isolation: NO_ISOLATION,
            })
            .pipe(
              map((event) => `${event.type}:${context.getStore() ?? 'none'}`),
              toArray(),
            ),
        ),
      );
    // Two runs at once: each event arrives through the one host channel, in its own run's context.
    const [a, b] = await Promise.all([run('task-a'), run('task-b')]);
    expect(new Set(a)).toEqual(
      new Set(['spawned:task-a', 'stdout:task-a', 'stderr:task-a', 'exit:task-a']),
    );
    expect(new Set(b)).toEqual(
      new Set(['spawned:task-b', 'stdout:task-b', 'stderr:task-b', 'exit:task-b']),
    );
  });

  it('starts children CHILD_NICE steps nicer than the server, and what they start too', async () => {
    const nicer = new ProcessLauncher({ CHILD_NICE: 7 } as AppConfig);
    const script = `
      const grandchild = require('child_process').execFileSync(process.execPath,
        ['-e', 'console.log(require("os").getPriority())']);
      console.log(JSON.stringify([require('os').getPriority(), Number(grandchild)]));`;
    try {
      const events = await lastValueFrom(
        nicer
          .run({
            command: process.execPath,
            args: ['-e', script],
            cwd: tmpdir(),
            env: { PATH: process.env.PATH },
            killGraceMs: 1000,
            isolation: NO_ISOLATION,
          })
          .pipe(toArray()),
      );
      const out = Buffer.concat(events.flatMap((e) => (e.type === 'stdout' ? [e.chunk] : [])));
      const expected = Math.min(19, getPriority() + 7);
      expect(JSON.parse(out.toString())).toEqual([expected, expected]);
    } finally {
      await nicer.onModuleDestroy();
    }
  });
});
