import { MigrationInterface, QueryRunner, TableColumn, TableColumnOptions } from 'typeorm';
import { columns } from 'migrations/columns';

/**
 * Task workspaces (git worktrees). Sessions get `isolation` (`worktree` or `none`), `base_ref`
 * and `setup_command`; tasks get where they start (`isolation`, `base_ref`, `base_commit`, the
 * default merge target `target_branch`, the repository's `git_dir`), their workspace
 * (`branch`, `workspace_path`, `setup_completed_at`, `workspace_removed_at`), their result
 * (`head_commit`) and its merge (`merged_at`, `merge_commit`, `merged_into`). Rows that exist
 * already keep running in place: their `isolation` is `none`.
 */
export class TaskWorkspaces1764110000000 implements MigrationInterface {
  name = 'TaskWorkspaces1764110000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const c = columns(queryRunner);
    const isolation: TableColumnOptions = {
      ...c.varchar('isolation', 16, false),
      default: "'none'",
    };
    await queryRunner.addColumns(
      'sessions',
      [isolation, c.varchar('base_ref', 255), c.varchar('setup_command', 2000)].map(
        (options) => new TableColumn(options),
      ),
    );
    await queryRunner.addColumns(
      'tasks',
      [
        isolation,
        c.varchar('base_ref', 255),
        c.varchar('base_commit', 64),
        c.varchar('target_branch', 255),
        c.varchar('git_dir', 1024),
        c.varchar('branch', 255),
        c.varchar('workspace_path', 1024),
        c.timestamp('setup_completed_at'),
        c.timestamp('workspace_removed_at'),
        c.varchar('head_commit', 64),
        c.timestamp('merged_at'),
        c.varchar('merge_commit', 64),
        c.varchar('merged_into', 255),
      ].map((options) => new TableColumn(options)),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const name of [
      'merged_into',
      'merge_commit',
      'merged_at',
      'head_commit',
      'workspace_removed_at',
      'setup_completed_at',
      'workspace_path',
      'branch',
      'git_dir',
      'target_branch',
      'base_commit',
      'base_ref',
      'isolation',
    ]) {
      await queryRunner.dropColumn('tasks', name);
    }
    for (const name of ['setup_command', 'base_ref', 'isolation']) {
      await queryRunner.dropColumn('sessions', name);
    }
  }
}
