import { everyWithoutOverlap, JobReports } from 'src/common/every-without-overlap';

/** Reports that put each failure in `errors` (and ignore a recovery). */
const reportsInto = (errors: unknown[]): JobReports => ({
  failed: (error) => errors.push(error),
  recovered: () => undefined,
});

/** A periodic job against something that stops answering for a while (fake timers). */
describe('everyWithoutOverlap', () => {
  let handle: NodeJS.Timeout | undefined;
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => {
    clearInterval(handle);
    jest.useRealTimers();
  });

  /**
   * Schedules a job whose runs hang until `fail` ends the last one, with `options`; `errors` are
   * what `onError` got.
   */
  function scheduleHangingJob(options?: { now?: boolean }) {
    let fail: (reason: Error) => void = () => undefined;
    const job = jest.fn((): Promise<void> => new Promise((_, reject) => (fail = reject)));
    const errors: unknown[] = [];
    handle = everyWithoutOverlap(1000, job, reportsInto(errors), options);
    return { job, errors, fail: (reason: Error) => fail(reason) };
  }

  it('a run still going at the next ticks starts no other and fails in one onError call; the next tick runs again', async () => {
    const { job, errors, fail } = scheduleHangingJob();

    expect(job).not.toHaveBeenCalled();
    await jest.advanceTimersByTimeAsync(3500);
    expect(job).toHaveBeenCalledTimes(1);
    const timeout = new Error('connect ETIMEDOUT');
    fail(timeout);
    await jest.advanceTimersByTimeAsync(0);
    expect(errors).toEqual([timeout]);

    job.mockResolvedValue(undefined);
    await jest.advanceTimersByTimeAsync(1000);
    expect(job).toHaveBeenCalledTimes(2);
    await jest.advanceTimersByTimeAsync(1000);
    expect(job).toHaveBeenCalledTimes(3);
    expect(errors).toEqual([timeout]);
  });

  it('with now, runs at once, and the ticks while that first run is going start nothing', async () => {
    const { job, errors, fail } = scheduleHangingJob({ now: true });

    expect(job).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(2500);
    expect(job).toHaveBeenCalledTimes(1);
    const timeout = new Error('Query inactivity timeout');
    fail(timeout);
    await jest.advanceTimersByTimeAsync(500);
    expect(errors).toEqual([timeout]);
    expect(job).toHaveBeenCalledTimes(2);
  });

  it('a job failing run after run is reported at its 1st, 10th and 100th failure in a row, at once when its error changes, and when it runs again', async () => {
    let error: Error | null = new Error('ECONNREFUSED');
    const down = error;
    const job = jest.fn(() => (error ? Promise.reject(error) : Promise.resolve()));
    const reports: unknown[][] = [];
    handle = everyWithoutOverlap(1000, job, {
      failed: (e, inARow) => reports.push(['failed', e, inARow]),
      recovered: (failures) => reports.push(['recovered', failures]),
    });

    await jest.advanceTimersByTimeAsync(150_000);
    expect(job).toHaveBeenCalledTimes(150);
    expect(reports).toEqual([
      ['failed', down, 1],
      ['failed', down, 10],
      ['failed', down, 100],
    ]);
    const other = new Error('disk full');
    error = other;
    await jest.advanceTimersByTimeAsync(1000);
    error = null;
    await jest.advanceTimersByTimeAsync(1000);
    error = down;
    await jest.advanceTimersByTimeAsync(1000);
    expect(reports.slice(3)).toEqual([
      ['failed', other, 151],
      ['recovered', 151],
      ['failed', down, 1],
    ]);
  });

  it('a job that throws instead of rejecting is reported, and the next tick runs it again', async () => {
    const broken = new Error('not a promise');
    const job = jest.fn((): Promise<void> => {
      throw broken;
    });
    const errors: unknown[] = [];
    handle = everyWithoutOverlap(1000, job, reportsInto(errors));

    await jest.advanceTimersByTimeAsync(2000);
    expect(errors).toEqual([broken]);
    expect(job).toHaveBeenCalledTimes(2);
  });
});
