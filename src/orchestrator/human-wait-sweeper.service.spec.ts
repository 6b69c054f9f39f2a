import { Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { HumanWaits } from 'src/tasks';
import { HumanWaitSweeperService } from 'src/orchestrator/human-wait-sweeper.service';

/** The sweep every second, against a database that stops answering for a while. */
describe('HumanWaitSweeperService', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('a sweep still waiting at the next ticks starts no other and fails in one log line; the next tick sweeps again', async () => {
    const error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    let fail: (reason: Error) => void = () => undefined;
    const due = jest.fn(
      (): Promise<{ id: string; iteration: number }[]> =>
        new Promise((_, reject) => (fail = reject)),
    );
    const waits = { due, resume: jest.fn() } as unknown as HumanWaits;
    const sweeper = new HumanWaitSweeperService(waits, new SchedulerRegistry());
    sweeper.schedule();

    await jest.advanceTimersByTimeAsync(3500);
    expect(due).toHaveBeenCalledTimes(1);
    fail(new Error('connect ETIMEDOUT'));
    await jest.advanceTimersByTimeAsync(0);
    expect(error.mock.calls).toEqual([['Human-wait sweep failed: Error: connect ETIMEDOUT']]);

    due.mockResolvedValue([]);
    await jest.advanceTimersByTimeAsync(1000);
    expect(due).toHaveBeenCalledTimes(2);
    expect(error).toHaveBeenCalledTimes(1);
    sweeper.onModuleDestroy();
  });
});
