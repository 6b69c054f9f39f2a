import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Clock } from 'src/common';
import { isUniqueViolation } from 'src/database';
import { VerificationRun } from 'src/tasks';
import { RegressionBaseline } from 'src/orchestrator/regression-baseline.entity';

/** Which baseline: one project, one base commit, one regression command. */
export interface BaselineKey {
  projectPath: string;
  baseCommit: string;
  command: string;
}

/**
 * What a stored baseline holds, as part of its id: a baseline stored in another form is not
 * found, and is taken again. 2: test names relative to the workspace (before, a file run as one
 * test was named by its absolute path in the task's workspace, so another task's run never
 * matched it). 3: counts as the output counts the tests, where it does (before, one case per
 * command: a suite's skipped tests could not be compared). 4: a Python suite's tests by id, from
 * the JUnit report pytest writes for the server or unittest's `-v` lines (before, by count only:
 * new tests could hide existing ones dropped). 5: cargo's tests named as they ran (before, an
 * ignored test was named as if it ran, and a doctest by its line, which an honest change above
 * it moves: either read as a test dropped).
 */
const BASELINE_FORM = 5;

function idOf(key: BaselineKey): string {
  return createHash('sha256')
    .update(`${BASELINE_FORM}\0${key.projectPath}\0${key.baseCommit}\0${key.command}`)
    .digest('hex');
}

/** The stored regression baselines (`regression_baselines`). */
@Injectable()
export class RegressionBaselines {
  constructor(
    @InjectRepository(RegressionBaseline) private readonly rows: Repository<RegressionBaseline>,
    private readonly clock: Clock,
  ) {}

  async find(key: BaselineKey): Promise<VerificationRun | null> {
    const row = await this.rows.findOneBy({ id: idOf(key) });
    if (row === null) return null;
    try {
      return JSON.parse(row.result) as VerificationRun;
    } catch {
      return null;
    }
  }

  /** Stores the baseline; one stored first by another task stays (theirs is as good). */
  async save(key: BaselineKey, run: VerificationRun): Promise<void> {
    try {
      await this.rows.insert({
        id: idOf(key),
        baseCommit: key.baseCommit,
        command: key.command.slice(0, 2000),
        result: JSON.stringify(run),
        createdAt: this.clock.now(),
      });
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
    }
  }
}
