import { Column, Entity, PrimaryColumn } from 'typeorm';
import { LONG_TEXT_COLUMN, TIMESTAMP_COLUMN } from 'src/database';

/**
 * The regression suite's run at one base commit of one project, by one command: taken by the
 * first task on that commit, reused by the later ones.
 */
@Entity({ name: 'regression_baselines' })
export class RegressionBaseline {
  /** sha256 of the project directory, the base commit and the command. */
  @PrimaryColumn({ type: 'varchar', length: 64 })
  id!: string;

  @Column({ name: 'base_commit', type: 'varchar', length: 64 })
  baseCommit!: string;

  @Column({ type: 'varchar', length: 2000 })
  command!: string;

  /** The run, as in the evidence (`VerificationRun`, JSON). */
  @Column({ name: 'result', ...LONG_TEXT_COLUMN })
  result!: string;

  @Column({ name: 'created_at', ...TIMESTAMP_COLUMN })
  createdAt!: Date;
}
