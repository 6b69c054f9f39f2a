import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';
import { columns } from 'migrations/columns';

/** A task's cost budget (`max_cost_usd`, USD; null: none), checked after every agent turn. */
export class TaskCostBudget1764100002000 implements MigrationInterface {
  name = 'TaskCostBudget1764100002000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn(
      'tasks',
      new TableColumn(columns(queryRunner).nullableDouble('max_cost_usd')),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('tasks', 'max_cost_usd');
  }
}
