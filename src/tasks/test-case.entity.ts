import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { LONG_TEXT_COLUMN, TIMESTAMP_COLUMN } from 'src/database';
import { Task } from 'src/tasks/task.entity';

export const TEST_CASE_KINDS = ['generated', 'regression'] as const;
export type TestCaseKind = (typeof TEST_CASE_KINDS)[number];

export const TEST_CASE_STATUSES = ['passed', 'failed', 'error', 'skipped'] as const;
export type TestCaseStatus = (typeof TEST_CASE_STATUSES)[number];

/** The lengths of `name` and `file_path`: longer ones are cut when stored (`fitVarchar`). */
export const TEST_CASE_NAME_LENGTH = 1000;
export const TEST_CASE_FILE_PATH_LENGTH = 2048;

/** One test (or one whole test command when it reports no cases) run for a task. */
@Entity({ name: 'test_cases' })
@Index('IDX_test_cases_task_id', ['taskId'])
export class TestCase {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number;

  @Column({ name: 'task_id', type: 'varchar', length: 36 })
  taskId!: string;

  @ManyToOne(() => Task, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'task_id', foreignKeyConstraintName: 'FK_test_cases_task_id' })
  task?: Task;

  @Column({ type: 'int', default: 0 })
  iteration!: number;

  @Column({ type: 'varchar', length: 16 })
  kind!: TestCaseKind;

  @Column({ type: 'varchar', length: TEST_CASE_NAME_LENGTH })
  name!: string;

  @Column({
    name: 'file_path',
    type: 'varchar',
    length: TEST_CASE_FILE_PATH_LENGTH,
    nullable: true,
  })
  filePath!: string | null;

  @Column({ type: 'varchar', length: 16 })
  status!: TestCaseStatus;

  @Column({ name: 'duration_ms', type: 'int', default: 0 })
  durationMs!: number;

  /** Capped by TEST_OUTPUT_MAX_BYTES before it is stored. */
  @Column({ ...LONG_TEXT_COLUMN })
  output!: string;

  @Column({ name: 'created_at', ...TIMESTAMP_COLUMN })
  createdAt!: Date;
}
