import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppConfig } from 'src/config';
import { LOCK_FILE_NAME, RepositoryLocks } from 'src/workspaces/repository-locks';
import { WorkspaceError } from 'src/workspaces/workspace-errors';

describe('RepositoryLocks', () => {
  let root: string;
  const locks = new RepositoryLocks({ GIT_TIMEOUT_SECONDS: 1 } as AppConfig);

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'cta-locks-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('runs the operation holding the lock in the git directory', async () => {
    expect(await locks.withLock(root, () => Promise.resolve('done'))).toBe('done');
  });

  it('names this machine in its lock as lease owners do: HOST_ID when set, else the hostname', async () => {
    const holderIn = (config: Partial<AppConfig>): Promise<unknown> =>
      new RepositoryLocks({ GIT_TIMEOUT_SECONDS: 1, ...config } as AppConfig).withLock(root, () =>
        Promise.resolve(JSON.parse(readFileSync(join(root, LOCK_FILE_NAME), 'utf8'))),
      );
    expect(await holderIn({ HOST_ID: 'machine-b' })).toMatchObject({ host: 'machine-b' });
    expect(await holderIn({})).toMatchObject({ host: hostname() });
  });

  it('refuses, as a WorkspaceError, a git directory that is gone or no longer a directory', async () => {
    const run = jest.fn(() => Promise.resolve('done'));
    const gone = join(root, 'deleted', '.git');
    await expect(locks.withLock(gone, run)).rejects.toThrow(
      new WorkspaceError(`the repository's git directory ${gone} is gone`),
    );
    const file = join(root, 'a-file');
    writeFileSync(file, '');
    await expect(locks.withLock(file, run)).rejects.toBeInstanceOf(WorkspaceError);
    expect(run).not.toHaveBeenCalled();
  });

  it('holds a shutdown until the operation under a lock has ended', async () => {
    const held = new RepositoryLocks({ GIT_TIMEOUT_SECONDS: 600 } as AppConfig);
    const order: string[] = [];
    let finish = (): void => undefined;
    let started = (): void => undefined;
    const running = new Promise<void>((resolve) => (started = resolve));
    const operation = held.withLock(root, async () => {
      started();
      await new Promise<void>((resolve) => (finish = resolve));
      order.push('operation ended');
    });
    await running;
    const shutdown = held.onModuleDestroy().then(() => order.push('shutdown went on'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual([]);
    finish();
    await Promise.all([operation, shutdown]);
    expect(order).toEqual(['operation ended', 'shutdown went on']);
    await held.onModuleDestroy();
  });
});
