import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NO_ISOLATION } from 'src/process/child-isolation';
import { HostEvent } from 'src/process/host/host-protocol';
import { LocalChildren } from 'src/process/local-children';
import { spawnHelperPath } from 'src/process/spawn-helper';

describe('LocalChildren', () => {
  let dir: string;
  let children: LocalChildren;
  let events: HostEvent[];
  let adopted: { pgid: number; dir: string }[];
  let arrived: () => void = () => undefined;

  /** Resolves once an event of `type` for spawn `id` was delivered. */
  const delivered = (id: number, type: HostEvent['type']): Promise<HostEvent> =>
    new Promise((resolve) => {
      const look = () => {
        const event = events.find((e) => e.type === type && 'id' in e && e.id === id);
        if (event) resolve(event);
        else arrived = look;
      };
      look();
    });

  const spawn = (id: number, script: string) =>
    children.spawn({
      type: 'spawn',
      id,
      command: '/bin/sh',
      args: ['-c', script],
      cwd: dir,
      env: { PATH: process.env.PATH },
      killGraceMs: 100,
      isolation: NO_ISOLATION,
    });

  beforeEach(() => {
    // Only the timers are fake: the helper's pipes and the children are real.
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    dir = mkdtempSync(join(tmpdir(), 'local-children-'));
    events = [];
    adopted = [];
    children = new LocalChildren(
      spawnHelperPath()!,
      0,
      (event, done) => {
        events.push(event);
        done();
        arrived();
      },
      (pgid, at) => adopted.push({ pgid, dir: at }),
    );
  });

  afterEach(async () => {
    jest.useRealTimers();
    await children.shutdown(100);
    rmSync(dir, { recursive: true, force: true });
  });

  it('tells the process host of a child still running 250 ms after its start, not of one over sooner', async () => {
    spawn(1, 'exit 0');
    await delivered(1, 'end');
    spawn(2, 'exec sleep 30');
    const started = (await delivered(2, 'spawned')) as { pid: number };

    jest.advanceTimersByTime(249);
    expect(adopted).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(adopted).toEqual([{ pgid: started.pid, dir }]);
    jest.advanceTimersByTime(10_000);
    expect(adopted).toHaveLength(1);
  });
});
