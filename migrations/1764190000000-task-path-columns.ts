import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `tasks.git_dir` (the repository's common git directory, wherever a `.git` file points) and
 * `tasks.workspace_path` (under WORKSPACES_DIR) were `varchar(1024)`: a path is used whole, and
 * Linux allows 4096 bytes, so MySQL/MariaDB refused a longer one (a task's creation answered 500,
 * its run failed) where SQLite stored it. Both become `text` (65,535 bytes) on MySQL/MariaDB, in
 * place (MODIFY keeps the data). SQLite does not enforce a varchar's length: nothing to do.
 */
export class TaskPathColumns1764190000000 implements MigrationInterface {
  name = 'TaskPathColumns1764190000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await this.setType(queryRunner, 'text');
  }

  /**
   * Back to `varchar(1024)`. A row holding a longer path makes this fail under a strict sql_mode
   * (MariaDB's and MySQL's default) and is silently cut under a non-strict one.
   */
  async down(queryRunner: QueryRunner): Promise<void> {
    await this.setType(queryRunner, 'varchar(1024)');
  }

  private async setType(queryRunner: QueryRunner, type: 'text' | 'varchar(1024)'): Promise<void> {
    if (queryRunner.connection.driver.options.type !== 'mysql') return;
    const utf8 = 'CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci';
    await queryRunner.query(
      `ALTER TABLE \`tasks\` MODIFY \`git_dir\` ${type} ${utf8} NULL, ` +
        `MODIFY \`workspace_path\` ${type} ${utf8} NULL`,
    );
  }
}
