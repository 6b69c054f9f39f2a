// Must come first: lets ts-node resolve the repo's absolute `src/...` imports.
import 'tsconfig-paths/register';
import { DataSource } from 'typeorm';
import { loadConfig } from 'src/config/app-config';
import { readEnvironment } from 'src/config/config.module';
import { buildDataSourceOptions } from 'src/database/database-options';

/**
 * DataSource for the TypeORM CLI (`npm run migration:run`, `migration:revert`,
 * `migration:generate`), built from the same validated config and options as the server.
 * Run from the repository root (it reads `.env` and `tsconfig.json` from there).
 */
export default new DataSource(
  buildDataSourceOptions({ databaseUrl: loadConfig(readEnvironment()).DATABASE_URL }),
);
