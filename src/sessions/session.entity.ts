import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { TIMESTAMP_COLUMN } from 'src/database';

/** A project directory that tasks run in. */
@Entity({ name: 'sessions' })
@Index('IDX_sessions_created_at', ['createdAt'])
@Index('IDX_sessions_owner_key_id_created_at', ['ownerKeyId', 'createdAt'])
export class Session {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 200, nullable: true })
  name!: string | null;

  /**
   * Canonical real path (symlinks resolved) of the project directory. At most 700 characters so
   * that the tasks(project_path, status) index fits InnoDB's 3072-byte key limit in utf8mb4.
   */
  @Column({ name: 'project_path', type: 'varchar', length: 700 })
  projectPath!: string;

  @Column({ name: 'test_command', type: 'varchar', length: 2000, nullable: true })
  testCommand!: string | null;

  @Column({ name: 'regression_command', type: 'varchar', length: 2000, nullable: true })
  regressionCommand!: string | null;

  /** The API key that created the session (and owns its tasks); null when keys were not required. */
  @Column({ name: 'owner_key_id', type: 'varchar', length: 36, nullable: true })
  ownerKeyId!: string | null;

  @Column({ name: 'created_at', ...TIMESTAMP_COLUMN })
  createdAt!: Date;

  @Column({ name: 'updated_at', ...TIMESTAMP_COLUMN })
  updatedAt!: Date;
}
