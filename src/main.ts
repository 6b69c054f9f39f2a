import type { AddressInfo } from 'node:net';
import { Logger, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from 'src/app.module';
import { AppConfig, ConfigValidationError, loadConfig, readEnvironment } from 'src/config';
import { configureApp, NEST_APP_OPTIONS } from 'src/common';
import { checkDatabase } from 'src/database';

const LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

/** Log levels up to and including the configured one. */
function logLevels(level: AppConfig['LOG_LEVEL']): LogLevel[] {
  return LEVELS.slice(0, LEVELS.indexOf(level) + 1);
}

/** Prints one line and exits 1: startup failures are configuration problems, not stack traces. */
function die(message: string): never {
  process.stderr.write(`Startup failed: ${message}\n`);
  process.exit(1);
}

async function bootstrap(): Promise<void> {
  let config: AppConfig;
  try {
    config = loadConfig(readEnvironment());
  } catch (error) {
    if (error instanceof ConfigValidationError) die(error.message);
    throw error;
  }
  try {
    await checkDatabase(config.DATABASE_URL);
  } catch (error) {
    die(error instanceof Error ? error.message : String(error));
  }
  let app: NestExpressApplication;
  try {
    app = await NestFactory.create<NestExpressApplication>(AppModule, {
      ...NEST_APP_OPTIONS,
      abortOnError: false,
      logger: logLevels(config.LOG_LEVEL),
    });
  } catch (error) {
    die(error instanceof Error ? error.message.split('\n')[0] : String(error));
  }
  configureApp(app);
  try {
    await app.listen(config.PORT, config.HOST);
  } catch (error) {
    await app.close();
    die(
      `cannot listen on ${config.HOST}:${config.PORT}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const { port } = app.getHttpServer().address() as AddressInfo;
  new Logger('Bootstrap').log(
    `Listening on http://${config.HOST}:${port} (API /api/v1, docs /docs)`,
  );
}

void bootstrap();
