// Must come first: lets ts-node resolve the repo's absolute `src/...` imports.
import 'tsconfig-paths/register';
import { DataSource } from 'typeorm';
import { loadConfig, readEnvironment } from 'src/config';
import { buildDataSourceOptions } from 'src/database';
import { Session } from 'src/sessions';
import { ClaudeInteraction, Task, TestCase } from 'src/tasks';

/**
 * DataSource for the TypeORM CLI (`npm run migration:run`, `migration:revert`,
 * `migration:generate`), built from the same validated config and options as the server.
 * Run from the repository root (it reads `.env` and `tsconfig.json` from there).
 */
export default new DataSource(
  buildDataSourceOptions({
    databaseUrl: loadConfig(readEnvironment()).DATABASE_URL,
    entities: [Session, Task, ClaudeInteraction, TestCase],
  }),
);
