import { Global, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { AppConfig } from 'src/config';
import { parseDatabaseUrl } from 'src/database';
import { loggerOptions } from 'src/logging/logger-options';
import { SecretScrubber } from 'src/logging/secret-scrubber';

/** The server's own secrets, whose exact values are blanked in every log line. */
function secretsOf(config: AppConfig): (string | undefined)[] {
  let databasePassword: string | undefined;
  try {
    const target = parseDatabaseUrl(config.DATABASE_URL);
    databasePassword = target.type === 'mysql' ? target.password : undefined;
  } catch {
    databasePassword = undefined;
  }
  return [databasePassword, config.METRICS_TOKEN, process.env.ANTHROPIC_API_KEY];
}

/** Structured logs (nestjs-pino): see `logger-options.ts`. `main.ts` makes it Nest's logger. */
@Global()
@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) =>
        loggerOptions(config, new SecretScrubber(secretsOf(config))),
    }),
  ],
})
export class LoggingModule {}
