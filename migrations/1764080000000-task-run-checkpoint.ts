import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';
import { columns } from 'migrations/columns';

/**
 * What a task's run needs to resume after its server stopped, stored on the task: the phase of
 * the run (`run_phase`: work, writing_tests or fixing_tests), the generated test files found so
 * far (`test_files`, a JSON array) and the project snapshot they are found against
 * (`test_snapshot`, JSON), turns in a row that left no test file (`empty_test_turns`), API errors
 * in a row (`api_error_streak`, the backoff) and what the current conversation has cost
 * (`conversation_cost_usd`).
 */
export class TaskRunCheckpoint1764080000000 implements MigrationInterface {
  name = 'TaskRunCheckpoint1764080000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const c = columns(queryRunner);
    await queryRunner.addColumns(
      'tasks',
      [
        c.varchar('run_phase', 20),
        c.longText('test_files'),
        c.longText('test_snapshot'),
        c.int('empty_test_turns'),
        c.int('api_error_streak'),
        c.double('conversation_cost_usd'),
      ].map((options) => new TableColumn(options)),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const name of [
      'conversation_cost_usd',
      'api_error_streak',
      'empty_test_turns',
      'test_snapshot',
      'test_files',
      'run_phase',
    ]) {
      await queryRunner.dropColumn('tasks', name);
    }
  }
}
