import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { jsonObjectTransformer, LONG_TEXT_COLUMN, TIMESTAMP_COLUMN } from 'src/database';
import { Task } from 'src/tasks/task.entity';

export const INTERACTION_KINDS = [
  'prompt',
  'simulated_human',
  'human',
  'assistant',
  'tool_use',
  'tool_result',
  'result',
  'error',
  'status',
  'test',
  'setup',
  'system',
] as const;

export type InteractionKind = (typeof INTERACTION_KINDS)[number];

/** One message or event of a task's conversation; the id is monotonic and doubles as event id. */
@Entity({ name: 'claude_interactions' })
@Index('IDX_claude_interactions_task_id_id', ['taskId', 'id'])
export class ClaudeInteraction {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number;

  @Column({ name: 'task_id', type: 'varchar', length: 36 })
  taskId!: string;

  @ManyToOne(() => Task, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'task_id', foreignKeyConstraintName: 'FK_claude_interactions_task_id' })
  task?: Task;

  @Column({ type: 'varchar', length: 32 })
  kind!: InteractionKind;

  @Column({ type: 'int', default: 0 })
  iteration!: number;

  @Column({ ...LONG_TEXT_COLUMN })
  content!: string;

  /** Structured payload (tool input, result metadata, ...), stored as JSON text. */
  @Column({ ...LONG_TEXT_COLUMN, nullable: true, transformer: jsonObjectTransformer })
  data!: Record<string, unknown> | null;

  @Column({ name: 'cost_usd', type: 'double', nullable: true })
  costUsd!: number | null;

  @Column({ name: 'input_tokens', type: 'int', nullable: true })
  inputTokens!: number | null;

  @Column({ name: 'output_tokens', type: 'int', nullable: true })
  outputTokens!: number | null;

  @Column({ name: 'created_at', ...TIMESTAMP_COLUMN })
  createdAt!: Date;
}
