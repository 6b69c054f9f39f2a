import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `tasks.description` and `tasks.error_message` were MySQL `text` (65,535 bytes): a description
 * within the API's 20,000-character limit can take 80,000 bytes and more in utf8mb4 (four bytes per
 * emoji, plus uncounted combining marks), and error messages are capped at 16 KiB characters. Both become `mediumtext` (16 MiB) on
 * MySQL/MariaDB, in place (MODIFY keeps the data). SQLite's `text` has no such limit: nothing to do.
 */
export class TaskTextColumns1764070000000 implements MigrationInterface {
  name = 'TaskTextColumns1764070000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await this.setType(queryRunner, 'mediumtext');
  }

  /**
   * Back to `text`. A row holding more than 65,535 bytes makes this fail under a strict sql_mode
   * (MariaDB's and MySQL's default) and is silently cut under a non-strict one.
   */
  async down(queryRunner: QueryRunner): Promise<void> {
    await this.setType(queryRunner, 'text');
  }

  private async setType(queryRunner: QueryRunner, type: 'text' | 'mediumtext'): Promise<void> {
    if (queryRunner.connection.driver.options.type !== 'mysql') return;
    const utf8 = 'CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci';
    await queryRunner.query(
      `ALTER TABLE \`tasks\` MODIFY \`description\` ${type} ${utf8} NOT NULL, ` +
        `MODIFY \`error_message\` ${type} ${utf8} NULL`,
    );
  }
}
