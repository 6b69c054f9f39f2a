import { createHash } from 'node:crypto';
import { Repository } from 'typeorm';
import { Clock } from 'src/common';
import { VerificationRun } from 'src/tasks';
import { RegressionBaseline } from 'src/orchestrator/regression-baseline.entity';
import { RegressionBaselines } from 'src/orchestrator/regression-baselines.repository';

/** The rows by id, as the table keeps them. */
function rowsOf(table: Map<string, RegressionBaseline>): Repository<RegressionBaseline> {
  return {
    findOneBy: ({ id }: { id: string }) => Promise.resolve(table.get(id) ?? null),
    insert: (row: RegressionBaseline) => {
      table.set(row.id, row);
      return Promise.resolve();
    },
  } as unknown as Repository<RegressionBaseline>;
}

const run = (tests: string[]): VerificationRun => ({
  command: ['node', '--test'],
  commit: 'b0',
  exit_code: 0,
  timed_out: false,
  duration_ms: 1,
  counts: { passed: tests.length, failed: 0, errored: 0, skipped: 0 },
  total: tests.length,
  failing: [],
  tests,
  output_excerpt: '',
});

describe('RegressionBaselines', () => {
  const key = { projectPath: '/p', baseCommit: 'b0', command: 'node --test' };

  it('finds the baseline stored for a project, base commit and command', async () => {
    const baselines = new RegressionBaselines(rowsOf(new Map()), new Clock());
    await baselines.save(key, run(['test/plain.test.js']));
    expect(await baselines.find(key)).toEqual(run(['test/plain.test.js']));
    expect(await baselines.find({ ...key, command: 'npm test' })).toBeNull();
  });

  it.each([
    ['names with another workspace in them', ''],
    ['counts per command', '2\0'],
    ['Python tests by count, cargo names as printed', '4\0'],
  ])('does not take a baseline stored in an earlier form (%s)', async (_form, prefix) => {
    const table = new Map<string, RegressionBaseline>();
    const earlierId = createHash('sha256')
      .update(`${prefix}${key.projectPath}\0${key.baseCommit}\0${key.command}`)
      .digest('hex');
    table.set(earlierId, {
      id: earlierId,
      baseCommit: key.baseCommit,
      command: key.command,
      result: JSON.stringify(run(['/ws/0d2b7c1e-0000-4000-8000-000000000001/test/plain.test.js'])),
      createdAt: new Date(0),
    });
    expect(await new RegressionBaselines(rowsOf(table), new Clock()).find(key)).toBeNull();
  });
});
