import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';
import { columns } from 'migrations/columns';

/**
 * What in a repository's common git directory decides what git runs (its configuration, hooks
 * and `info/` files), fingerprinted as a task's workspace is made (`git_config_fingerprint`,
 * JSON): the completing commit and the merge are refused when it changed since. Null for a task
 * without a workspace, and for one made before (not checked).
 */
export class GitConfigFingerprint1764170000000 implements MigrationInterface {
  name = 'GitConfigFingerprint1764170000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn(
      'tasks',
      new TableColumn(columns(queryRunner).longText('git_config_fingerprint')),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('tasks', 'git_config_fingerprint');
  }
}
