import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { TIMESTAMP_COLUMN } from 'src/database';

/**
 * Where a session's tasks work: `worktree`, each in its own git worktree and branch (tasks of one
 * repository run side by side); `none`, in the project directory itself, one at a time.
 */
export const ISOLATION_MODES = ['worktree', 'none'] as const;

export type Isolation = (typeof ISOLATION_MODES)[number];

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

  @Column({ type: 'varchar', length: 16, default: 'none' })
  isolation!: Isolation;

  /** What the session's tasks start from unless a task says otherwise; null: the checked-out HEAD. */
  @Column({ name: 'base_ref', type: 'varchar', length: 255, nullable: true })
  baseRef!: string | null;

  /** Run in each new workspace before the agent's first turn (e.g. `npm ci`). */
  @Column({ name: 'setup_command', type: 'varchar', length: 2000, nullable: true })
  setupCommand!: string | null;

  /** Default of its tasks' `require_failing_tests`; null: the server's REQUIRE_FAILING_TESTS. */
  @Column({ name: 'require_failing_tests', type: 'boolean', nullable: true })
  requireFailingTests!: boolean | null;
  /** Default of its tasks' `auto_respond`; null: true (the simulated human answers). */
  @Column({ name: 'auto_respond', type: 'boolean', nullable: true })
  autoRespond!: boolean | null;

  /** Default of its tasks' `human_timeout_seconds`; null: no limit. */
  @Column({ name: 'human_timeout_seconds', type: 'int', nullable: true })
  humanTimeoutSeconds!: number | null;

  /** The API key that created the session (and owns its tasks); null when keys were not required. */
  @Column({ name: 'owner_key_id', type: 'varchar', length: 36, nullable: true })
  ownerKeyId!: string | null;

  @Column({ name: 'created_at', ...TIMESTAMP_COLUMN })
  createdAt!: Date;

  @Column({ name: 'updated_at', ...TIMESTAMP_COLUMN })
  updatedAt!: Date;
}
