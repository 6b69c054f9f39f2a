import { existsSync } from 'node:fs';
import { Global, Module } from '@nestjs/common';
import { AppConfig, loadConfig } from 'src/config/app-config';

/** Reads `.env` from the working directory when present; real environment variables win. */
export function readEnvironment(): NodeJS.ProcessEnv {
  if (existsSync('.env')) process.loadEnvFile('.env');
  return process.env;
}

@Global()
@Module({
  providers: [{ provide: AppConfig, useFactory: () => loadConfig(readEnvironment()) }],
  exports: [AppConfig],
})
export class ConfigModule {}
