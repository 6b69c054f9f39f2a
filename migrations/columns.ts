import { QueryRunner, TableColumnOptions } from 'typeorm';

/**
 * The column kinds the migrations use, one definition each for both engines, so every migration
 * after the first writes `columns(queryRunner).longText('x')` instead of repeating dialect
 * branches: MySQL/MariaDB gets `datetime(3)`, `longtext` and utf8mb4 text; SQLite gets `datetime`
 * and `text`.
 */
export function columns(queryRunner: QueryRunner): {
  varchar: (name: string, length: number, isNullable?: boolean) => TableColumnOptions;
  longText: (name: string, isNullable?: boolean) => TableColumnOptions;
  int: (name: string) => TableColumnOptions;
  nullableInt: (name: string) => TableColumnOptions;
  double: (name: string) => TableColumnOptions;
  nullableDouble: (name: string) => TableColumnOptions;
  timestamp: (name: string, isNullable?: boolean) => TableColumnOptions;
  uuidKey: (name: string) => TableColumnOptions;
  increments: (name: string) => TableColumnOptions;
} {
  const mysql = queryRunner.connection.driver.options.type === 'mysql';
  const utf8 = mysql ? { charset: 'utf8mb4', collation: 'utf8mb4_unicode_ci' } : {};
  return {
    varchar: (name, length, isNullable = true) => ({
      name,
      type: 'varchar',
      length: String(length),
      isNullable,
      ...utf8,
    }),
    longText: (name, isNullable = true) => ({
      name,
      type: mysql ? 'longtext' : 'text',
      isNullable,
      ...utf8,
    }),
    int: (name) => ({ name, type: 'int', default: 0 }),
    nullableInt: (name) => ({ name, type: 'int', isNullable: true }),
    double: (name) => ({ name, type: 'double', default: 0 }),
    nullableDouble: (name) => ({ name, type: 'double', isNullable: true }),
    timestamp: (name, isNullable = true) =>
      mysql
        ? { name, type: 'datetime', precision: 3, isNullable }
        : { name, type: 'datetime', isNullable },
    uuidKey: (name) => ({ name, type: 'varchar', length: '36', isPrimary: true }),
    increments: (name) => ({
      name,
      type: 'integer',
      isPrimary: true,
      isGenerated: true,
      generationStrategy: 'increment',
    }),
  };
}
