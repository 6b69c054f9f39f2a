import type { AddressInfo } from 'node:net';
import { Logger, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from 'src/app.module';
import { AppConfig, ConfigValidationError, loadConfig, readEnvironment } from 'src/config';
import { configureApp, Draining, NEST_APP_OPTIONS } from 'src/common';
import { checkDatabase } from 'src/database';
import { TaskOrchestratorService } from 'src/orchestrator';

const LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

/** Log levels up to and including the configured one. */
function logLevels(level: AppConfig['LOG_LEVEL']): LogLevel[] {
  return LEVELS.slice(0, LEVELS.indexOf(level) + 1);
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/** Prints one line and exits 1: startup failures are configuration problems, not stack traces. */
function die(message: string): never {
  process.stderr.write(`Startup failed: ${message}\n`);
  process.exit(1);
}

/**
 * SIGTERM or SIGINT: one log line, then the app closes (the orchestrator stops its running tasks
 * and puts them back in the queue, resumable) and the process exits 0. A second signal while
 * that runs exits at once with 1 (the lease sweep of the next start recovers what was left).
 */
function stopOnSignals(app: NestExpressApplication): void {
  const logger = new Logger('Shutdown');
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn(`${signal} again: exiting without waiting for running tasks`);
      process.exit(1);
    }
    stopping = true;
    app.get(Draining).start();
    const running = app.get(TaskOrchestratorService).stats().running;
    logger.log(
      `${signal}: shutting down; ${running} running task(s) go back to the queue to resume later`,
    );
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error(`shutdown failed: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
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
  stopOnSignals(app);
  const { port } = app.getHttpServer().address() as AddressInfo;
  const reach = isLoopback(config.HOST)
    ? 'loopback only (set HOST to listen on other interfaces)'
    : 'every client that can reach this address can run programs through it';
  new Logger('Bootstrap').log(
    `Listening on http://${config.HOST}:${port} (API /api/v1, docs /docs): ${reach}`,
  );
}

void bootstrap();
