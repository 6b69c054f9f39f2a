import type { QueryRunner } from 'typeorm';
import { AtomicWriter, SqlStep, SqlStepResult } from 'src/database/atomic-writer';

/**
 * The database's writer, which fails the first write naming `failOnce` as MySQL fails a
 * transaction that lost a deadlock (to be tried again), and runs `before.run` just before the
 * first write naming `before.marker` (another request's write landing first): as a value, or
 * within one with `inText`.
 */
export class DeadlockingWriter extends AtomicWriter {
  failOnce: string | null = null;
  before: { marker: string; inText?: boolean; run: () => Promise<unknown> } | null = null;

  override async run(
    steps: readonly SqlStep[],
    runner?: QueryRunner,
  ): Promise<SqlStepResult[] | null> {
    const before = this.before;
    const names = (value: unknown): boolean =>
      value === before?.marker ||
      (before?.inText === true && typeof value === 'string' && value.includes(before.marker));
    if (before !== null && steps.some((s) => s.params.some(names))) {
      this.before = null;
      await before.run();
    }
    const marker = this.failOnce;
    if (marker !== null && steps.some((s) => s.params.includes(marker))) {
      this.failOnce = null;
      throw Object.assign(new Error('Deadlock found when trying to get lock'), {
        code: 'ER_LOCK_DEADLOCK',
      });
    }
    return super.run(steps, runner);
  }
}
