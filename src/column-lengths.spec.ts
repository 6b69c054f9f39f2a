import { getMetadataStorage } from 'class-validator';
import { getMetadataArgsStorage } from 'typeorm';
// Loading the modules whose controllers declare the bodies registers their validation.
import 'src/auth';
import 'src/sessions';
import 'src/tasks';

/**
 * THE REQUEST FIELDS STORED AS THEY COME fit their columns: MySQL refuses a value longer than a
 * varchar column where SQLite stores it, so a field the validation lets through longer than its
 * column would be a 500 on one database alone. Each body's field is held to the column of the
 * same name in the table it is stored in.
 */

/** Each request body and the table its fields are stored in. */
const BODIES: Record<string, string> = {
  CreateApiKeyDto: 'api_keys',
  CreateSessionDto: 'sessions',
  CreateTaskDto: 'tasks',
  MergeTaskDto: 'tasks',
};

/**
 * Fields stored in another form than they come, bounded where they are made: a project path is
 * stored as its canonical real path, refused past its column by `ProjectPathService`.
 */
const STORED_OTHERWISE = new Set(['CreateSessionDto.project_path']);

function maxLengths(dto: string): Map<string, number> {
  const lengths = new Map<string, number>();
  const metadata = getMetadataStorage() as unknown as {
    validationMetadatas: Map<
      { name: string },
      { propertyName: string; name?: string; constraints?: unknown[] }[]
    >;
  };
  for (const [target, rules] of metadata.validationMetadatas) {
    if (target.name !== dto) continue;
    for (const rule of rules) {
      if (rule.name === 'maxLength') lengths.set(rule.propertyName, Number(rule.constraints?.[0]));
    }
  }
  return lengths;
}

function varcharLengths(table: string): Map<string, number> {
  const storage = getMetadataArgsStorage();
  const entity = storage.tables.find((t) => t.name === table)?.target;
  const lengths = new Map<string, number>();
  for (const column of storage.columns) {
    if (column.target !== entity || column.options.type !== 'varchar') continue;
    lengths.set(column.options.name ?? column.propertyName, Number(column.options.length));
  }
  return lengths;
}

describe('request fields and their columns', () => {
  it.each(Object.entries(BODIES))('%s: no field is longer than its column in %s', (dto, table) => {
    const fields = maxLengths(dto);
    const columns = varcharLengths(table);
    const held = [...fields.keys()].filter(
      (f) => columns.has(f) && !STORED_OTHERWISE.has(`${dto}.${f}`),
    );
    expect(held.length).toBeGreaterThan(0);
    const tooLong = held
      .filter((f) => (fields.get(f) ?? 0) > (columns.get(f) ?? 0))
      .map((f) => `${f}: ${fields.get(f)} > ${columns.get(f)}`);
    expect(tooLong).toEqual([]);
  });
});
