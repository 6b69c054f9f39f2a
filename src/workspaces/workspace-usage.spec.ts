import {
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Clock } from 'src/common';
import { AppConfig } from 'src/config';
import { NO_ISOLATION } from 'src/process';
import { WorkspaceRoot } from 'src/workspaces/workspace-root';
import { diskUsage, WorkspaceUsage } from 'src/workspaces/workspace-usage';

/** `run`'s result and the event loop's turns while it ran (one immediate per turn). */
async function withTurns<T>(run: () => Promise<T>): Promise<{ result: T; turns: number }> {
  let turns = 0;
  let counting = true;
  const tick = (): void => {
    turns += 1;
    if (counting) setImmediate(tick);
  };
  setImmediate(tick);
  const result = await run();
  counting = false;
  return { result, turns };
}

class FakeClock extends Clock {
  ms = Date.parse('2026-12-02T12:00:00Z');

  override nowMs(): number {
    return this.ms;
  }
}

describe('WorkspaceUsage', () => {
  let dir: string;
  let clock: FakeClock;
  let usage: WorkspaceUsage;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ws-usage-'));
    const config = Object.assign(new AppConfig(), { WORKSPACES_DIR: dir, WORKSPACES_MAX_GB: 0 });
    clock = new FakeClock();
    usage = new WorkspaceUsage(config, new WorkspaceRoot(config, NO_ISOLATION), clock);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const id = (n: number) => `00000000-0000-4000-8000-00000000000${n}`;
  const addWorkspace = (n: number): string => {
    mkdirSync(join(dir, id(n)));
    writeFileSync(join(dir, id(n), 'file.txt'), 'x'.repeat(10_000));
    return join(dir, id(n));
  };
  const grow = (n: number, bytes: number) =>
    writeFileSync(join(dir, id(n), `more-${bytes}.bin`), Buffer.alloc(bytes, 1));

  it('answers latest() with the last measurement while a new one runs, snapshot() with the new one', async () => {
    addWorkspace(1);
    const first = await usage.latest();
    expect(first.count).toBe(1);

    usage.invalidate(addWorkspace(2));
    // Out of date: latest() does not wait, it shows the measurement it has...
    expect(await usage.latest()).toBe(first);
    // ...while the new measurement, started by it, is what snapshot() waits for.
    const second = await usage.snapshot();
    expect(second.count).toBe(2);
    expect(second.bytes).toBeGreaterThan(first.bytes);
    expect(await usage.latest()).toBe(second);
  });

  it('measures a new workspace on its own and walks one a task works in again once its measurement is 30 s old', async () => {
    usage.inUse(addWorkspace(1));
    const first = await usage.snapshot();

    grow(1, 1_000_000);
    clock.ms += 10_000;
    const path = addWorkspace(2);
    usage.invalidate(path);
    // Made by other hands: seen when WORKSPACES_DIR is listed again, 30 s after the last time.
    addWorkspace(3);
    const second = await usage.snapshot();
    const workspace2 = second.bytes - first.bytes;
    // Workspace 1's growth is not seen yet: only the new workspace was walked.
    expect(second.count).toBe(2);
    expect(workspace2).toBeGreaterThan(0);
    expect(workspace2).toBeLessThan(1_000_000);
    expect(second.measuredAt.getTime()).toBe(first.measuredAt.getTime());

    clock.ms += 20_000;
    const third = await usage.snapshot();
    expect(third.count).toBe(3);
    expect(third.bytes).toBeGreaterThanOrEqual(first.bytes + 1_000_000 + 2 * workspace2);
    expect(third.measuredAt.getTime()).toBe(first.measuredAt.getTime() + 10_000);
  });

  it('walks a workspace nobody works in again after 10 minutes, and at once when its run ends', async () => {
    const path = addWorkspace(1);
    const first = await usage.snapshot();

    grow(1, 1_000_000);
    clock.ms += 5 * 60_000;
    // WORKSPACES_DIR is looked at again (a workspace made by other hands is seen), but the idle
    // one is not walked.
    addWorkspace(2);
    const later = await usage.snapshot();
    expect(later.count).toBe(2);
    expect(later.bytes).toBeLessThan(first.bytes * 2 + 1_000_000);
    clock.ms += 5 * 60_000;
    const idle = await usage.snapshot();
    expect(idle.bytes).toBeGreaterThanOrEqual(first.bytes + 1_000_000);

    usage.inUse(path);
    grow(1, 2_000_000);
    usage.doneWith(path);
    expect((await usage.snapshot()).bytes).toBeGreaterThanOrEqual(idle.bytes + 2_000_000);
  });

  it('walks a workspace again when its run ended while it was being walked', async () => {
    const path = addWorkspace(1);
    usage.inUse(path);
    const walking = usage.snapshot();
    usage.doneWith(path);
    const walked = await walking;
    // What the walk may have missed of the run's last writes.
    grow(1, 1_000_000);
    expect((await usage.snapshot()).bytes).toBeGreaterThanOrEqual(walked.bytes + 1_000_000);
  });

  it('lets the event loop run while it walks many small workspaces one after the other', async () => {
    // 30 workspaces of 200 files: each entry is listed, then looked at; 401 steps a workspace.
    for (let n = 10; n < 40; n += 1) {
      const workspace = join(dir, `00000000-0000-4000-8000-0000000000${n}`);
      mkdirSync(workspace);
      for (let f = 0; f < 200; f += 1) writeFileSync(join(workspace, `f${f}.txt`), 'x');
    }
    const { result, turns } = await withTurns(() => usage.snapshot());
    expect(result.count).toBe(30);
    // A turn every 256 entries (512 steps) across the workspaces: 23 here; paced per workspace
    // (401 steps each) none would come.
    expect(turns).toBeGreaterThanOrEqual(20);
  });

  it('measures a re-created workspace again and drops a removed one', async () => {
    const path = addWorkspace(1);
    addWorkspace(2);
    const first = await usage.snapshot();

    rmSync(path, { recursive: true });
    addWorkspace(1);
    grow(1, 1_000_000);
    usage.invalidate(path);
    const recreated = await usage.snapshot();
    expect(recreated.bytes).toBeGreaterThanOrEqual(first.bytes + 1_000_000);

    rmSync(path, { recursive: true });
    usage.invalidate(path);
    const removed = await usage.snapshot();
    expect(removed.count).toBe(1);
    expect(removed.bytes).toBeLessThan(first.bytes);
  });
});

describe('diskUsage', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'disk-usage-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const allocated = (path: string): number => {
    const stat = lstatSync(path);
    return stat.blocks > 0 ? stat.blocks * 512 : stat.size;
  };

  it('adds up every file and directory once: hard links once, symbolic links not followed', async () => {
    mkdirSync(join(dir, 'a', 'b'), { recursive: true });
    writeFileSync(join(dir, 'a', 'b', 'big.bin'), Buffer.alloc(200_000, 1));
    linkSync(join(dir, 'a', 'b', 'big.bin'), join(dir, 'a', 'same.bin'));
    const outside = mkdtempSync(join(tmpdir(), 'disk-usage-outside-'));
    writeFileSync(join(outside, 'huge.bin'), Buffer.alloc(2_000_000, 1));
    symlinkSync(outside, join(dir, 'a', 'outside'));
    try {
      const expected = [dir, join(dir, 'a'), join(dir, 'a', 'b'), join(dir, 'a', 'b', 'big.bin')]
        .concat(join(dir, 'a', 'outside'))
        .reduce((sum, path) => sum + allocated(path), 0);
      expect(await diskUsage(dir)).toBe(expected);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('lets the event loop run while it walks a large directory, and counts all of it', async () => {
    for (let i = 0; i < 2000; i += 1) writeFileSync(join(dir, `f${i}.txt`), 'x');
    const { result: bytes, turns } = await withTurns(() => diskUsage(dir));
    expect(bytes).toBe(allocated(dir) + 2000 * allocated(join(dir, 'f0.txt')));
    // A turn every 256 entries (512 steps): 2001 entries, 4001 steps, 7 turns.
    expect(turns).toBeGreaterThanOrEqual(6);
  });

  it('is 0 for a directory that is not there', async () => {
    expect(await diskUsage(join(dir, 'gone'))).toBe(0);
  });
});
