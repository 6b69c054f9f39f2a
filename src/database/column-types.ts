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

/** Stores JSON objects as text; reads them back as objects (null stays null). */
export const jsonObjectTransformer: ValueTransformer = {
  to: (value: Record<string, unknown> | null | undefined): string | null =>
    value === undefined || value === null ? null : JSON.stringify(value),
  from: (value: string | null): Record<string, unknown> | null =>
    value === null ? null : (JSON.parse(value) as Record<string, unknown>),
};

/** Stores any JSON value as text; reads it back parsed (null stays null). */
export const jsonTransformer: ValueTransformer = {
  to: (value: unknown): string | null =>
    value === undefined || value === null ? null : JSON.stringify(value),
  from: (value: string | null): unknown => (value === null ? null : JSON.parse(value)),
};
