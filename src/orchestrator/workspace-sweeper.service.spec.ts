import { Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { DataSource } from 'typeorm';
import { Clock } from 'src/common';
import { AppConfig } from 'src/config';
import { TaskWorkspaceCleanup } from 'src/tasks';
import { WorkspacesService } from 'src/workspaces';
import { WorkspaceSweeperService } from 'src/orchestrator/workspace-sweeper.service';

/** The sweep at start and every WORKSPACE_SWEEP_SECONDS, against a database that hangs a while. */
describe('WorkspaceSweeperService', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('a sweep still running at the next ticks starts no other and fails in one log line; the next tick sweeps again', async () => {
    const error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    let fail: (reason: Error) => void = () => undefined;
    const find = jest.fn((): Promise<unknown[]> => new Promise((_, reject) => (fail = reject)));
    const dataSource = { getRepository: () => ({ find }) } as unknown as DataSource;
    const config = { WORKSPACE_SWEEP_SECONDS: 1, WORKSPACE_RETENTION_HOURS: 24 } as AppConfig;
    const workspaces = { listWorkspaceIds: () => Promise.resolve([]) };
    const sweeper = new WorkspaceSweeperService(
      dataSource,
      config,
      new Clock(),
      workspaces as unknown as WorkspacesService,
      {} as TaskWorkspaceCleanup,
      new SchedulerRegistry(),
    );
    sweeper.schedule();

    await jest.advanceTimersByTimeAsync(3500);
    expect(find).toHaveBeenCalledTimes(1);
    fail(new Error('Query inactivity timeout'));
    await jest.advanceTimersByTimeAsync(0);
    expect(error.mock.calls).toEqual([['Workspace sweep failed: Error: Query inactivity timeout']]);

    find.mockResolvedValue([]);
    await jest.advanceTimersByTimeAsync(1000);
    expect(find).toHaveBeenCalledTimes(2);
    expect(error).toHaveBeenCalledTimes(1);
    sweeper.onModuleDestroy();
  });
});
