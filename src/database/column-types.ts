import { Logger } from '@nestjs/common';
import { ValueTransformer } from 'typeorm';

/**
 * Column options shared by the entities. Entity types only steer how values are read and written;
 * the schema itself comes from the migration, which picks `datetime(3)` and `longtext` on MySQL.
 */
export const TIMESTAMP_COLUMN = { type: 'datetime', precision: 3 } as const;

/**
 * Agent and test output: `text` on SQLite, `longtext` (4 GiB) on MySQL via the migration. Other
 * `text` entity columns may be wider on MySQL too (`tasks.description` and `error_message` are
 * `mediumtext`): the migrations decide.
 */
export const LONG_TEXT_COLUMN = { type: 'text' } as const;

/** Largest value of an `int` column (MySQL's signed INT); running totals are clamped to it. */
export const MAX_INT_COLUMN = 2_147_483_647;

/** Stored JSON that does not parse is said in the log this many times, then no more. */
const UNREADABLE_WARNINGS = 10;
let unreadableWarnings = 0;

/**
 * `value` parsed, or `fallback(value)` when it is not JSON (a row damaged outside the server, or
 * by a disk): one bad row must not fail every read of the table (a task list, an event stream,
 * the lease sweep, the server's start).
 */
function parseStored(value: string, fallback: (raw: string) => unknown): unknown {
  try {
    return JSON.parse(value);
  } catch (error) {
    if (unreadableWarnings < UNREADABLE_WARNINGS) {
      unreadableWarnings += 1;
      new Logger('Database').warn(
        `A stored JSON value does not parse (${String(error)}); read as ${JSON.stringify(fallback(value)).slice(0, 80)}`,
      );
    }
    return fallback(value);
  }
}

/** Longest part of an unreadable value kept in its stand-in. */
const UNREADABLE_EXCERPT = 200;

/**
 * Stores JSON objects as text; reads them back as objects (null stays null). A value that does
 * not parse reads as `{ unreadable: <its start> }`: the record stays visible, marked.
 */
export const jsonObjectTransformer: ValueTransformer = {
  to: (value: Record<string, unknown> | null | undefined): string | null =>
    value === undefined || value === null ? null : JSON.stringify(value),
  from: (value: string | null): Record<string, unknown> | null =>
    value === null
      ? null
      : (parseStored(value, (raw) => ({ unreadable: raw.slice(0, UNREADABLE_EXCERPT) })) as Record<
          string,
          unknown
        >),
};

/**
 * Stores any JSON value as text; reads it back parsed (null stays null). A value that does not
 * parse reads as null, as a value never stored.
 */
export const jsonTransformer: ValueTransformer = {
  to: (value: unknown): string | null =>
    value === undefined || value === null ? null : JSON.stringify(value),
  from: (value: string | null): unknown => (value === null ? null : parseStored(value, () => null)),
};
