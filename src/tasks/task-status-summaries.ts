import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { EntityColumns, sqliteConnectionOf } from 'src/database';
import { TaskStatusResponseDto } from 'src/tasks/dto/task-response.dto';
import { Task } from 'src/tasks/task.entity';
import {
  statusResponseOf,
  TASK_STATUS_FIELDS,
  TaskStatusTimestamp,
  TaskStatusValues,
  toTaskStatusResponse,
} from 'src/tasks/task.mapper';
import { taskNotFound } from 'src/tasks/task-not-found';
import { TaskRowReader } from 'src/tasks/task-row-reader';

/**
 * A timestamp as TypeORM writes a `datetime` column on SQLite: UTC text to the millisecond
 * (`2026-12-04 18:23:08.483`). Its ISO form is the same characters with a `T` and a `Z`. Days
 * past the 28th, and any other form, are read through a `Date` instead, which checks them.
 */
const SQLITE_TIMESTAMP =
  /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8]) (?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}$/;

type StatusField = (typeof TASK_STATUS_FIELDS)[number];

/** Where each field is in a stored row, which has them in this order. */
const AT = Object.fromEntries(TASK_STATUS_FIELDS.map((field, i) => [field, i])) as Record<
  StatusField,
  number
>;

/**
 * THE STATUS SUMMARY READ (`GET /tasks/{id}/status`, the route clients poll): the answer as
 * `toTaskStatusResponse` makes it from the task's row.
 *
 * On SQLite the row is read by the `TaskRowReader`'s prepared statement as an array of values
 * (`storedRow`: no object with a property per column for better-sqlite3 to build, no conversion)
 * and turned into the answer without an entity
 * in between: its timestamps are text already in the ISO form but for two characters, its numbers
 * and strings are as TypeORM gives them, and the human wait's JSON goes through the column's own
 * conversion. Through an entity, with `Date`s made from that text and turned back into text, a
 * status read took the server 14 % more CPU (test/bench/RESULTS.md). On MySQL the row is read
 * through the `TaskRowReader` and mapped from the entity. The two agree on every row
 * (test/e2e/api-database.e2e-spec.ts).
 */
@Injectable()
export class TaskStatusSummaries {
  private readonly sqlite: boolean;
  private readonly columns: EntityColumns<Task>;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly rows: TaskRowReader,
  ) {
    this.sqlite = sqliteConnectionOf(dataSource) !== null;
    this.columns = new EntityColumns(dataSource, Task);
  }

  /** The task's status summary; 404 `task_not_found` when there is no such task. */
  async read(id: string): Promise<TaskStatusResponseDto> {
    if (!this.sqlite) {
      const row = await this.rows.read(id, TASK_STATUS_FIELDS);
      if (row === null) throw taskNotFound(id);
      return toTaskStatusResponse(row);
    }
    const row = this.rows.storedRow(id, TASK_STATUS_FIELDS);
    if (row === undefined) throw taskNotFound(id);
    return statusResponseOf(this.values(row));
  }

  /** The values of a SQLite row as the answer has them. */
  private values(row: readonly unknown[]): TaskStatusValues {
    const at = <F extends StatusField>(field: F) => row[AT[field]] as Task[F];
    return {
      id: at('id'),
      status: at('status'),
      statusReason: at('statusReason'),
      phase: at('phase'),
      iteration: at('iteration'),
      maxIterations: at('maxIterations'),
      pauseCount: at('pauseCount'),
      maxPauses: at('maxPauses'),
      lastAgentMessage: at('lastAgentMessage'),
      humanWait: this.converted(row, 'humanWait'),
      errorMessage: at('errorMessage'),
      testsPassed: at('testsPassed'),
      testsFailed: at('testsFailed'),
      testsTotal: at('testsTotal'),
      costUsd: at('costUsd'),
      inputTokens: at('inputTokens'),
      outputTokens: at('outputTokens'),
      createdAt: this.timestamp(row, 'createdAt')!,
      startedAt: this.timestamp(row, 'startedAt'),
      completedAt: this.timestamp(row, 'completedAt'),
      updatedAt: this.timestamp(row, 'updatedAt')!,
    };
  }

  /** A value TypeORM converts as it reads it (a transformer's). */
  private converted<F extends StatusField>(row: readonly unknown[], field: F): Task[F] {
    return this.dataSource.driver.prepareHydratedValue(
      row[AT[field]],
      this.columns.column(field),
    ) as Task[F];
  }

  /** A timestamp's ISO form: SQLite's usual text rearranged, anything else through a `Date`. */
  private timestamp(row: readonly unknown[], field: TaskStatusTimestamp): string | null {
    const value = row[AT[field]];
    if (typeof value === 'string' && SQLITE_TIMESTAMP.test(value)) {
      return `${value.slice(0, 10)}T${value.slice(11)}Z`;
    }
    return this.converted(row, field)?.toISOString() ?? null;
  }
}
