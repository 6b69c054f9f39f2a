import type { AddressInfo } from 'node:net';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Logger as PinoNestLogger } from 'nestjs-pino';
import { AppModule } from 'src/app.module';
import { ApiKeysService, decideBind, isLoopback } from 'src/auth';
import { AppConfig, ConfigValidationError, loadConfig, readEnvironment } from 'src/config';
import { configureApp, Draining, NEST_APP_OPTIONS, serverInstallDir } from 'src/common';
import { checkDatabase } from 'src/database';
import { TaskOrchestratorService } from 'src/orchestrator';
import {
  checkIsolation,
  closeInheritedDescriptors,
  isolationFromConfig,
  IsolationVerdict,
  probeSandbox,
  serverOwnPaths,
  serverSecretFiles,
} from 'src/process';

/** Prints one line and exits 1: startup failures are configuration problems, not stack traces. */
function die(message: string): never {
  process.stderr.write(`Startup failed: ${message}\n`);
  process.exit(1);
}

const messageOf = (error: unknown): string =>
  error instanceof Error ? error.message.split('\n')[0] : String(error);

/**
 * SIGTERM, SIGINT or SIGHUP (the terminal it ran in closed, which would otherwise end it at once,
 * its tasks left to look like a crash): one log line, then the app closes (the orchestrator stops its running tasks
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
        logger.error(`shutdown failed: ${messageOf(error)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGHUP', stop);
}

/**
 * Who the agent and test commands run as, and in which sandbox: refuses a root server without
 * RUN_AS_USER (unless ALLOW_ROOT), a RUN_AS_USER that can read the server's secret files, and a
 * sandbox that does not work here.
 */
function checkChildren(config: AppConfig): IsolationVerdict {
  try {
    const isolation = isolationFromConfig(config);
    probeSandbox(isolation);
    const secrets = serverSecretFiles(config);
    const verdict = checkIsolation(
      isolation,
      process.getuid?.() ?? -1,
      config.ALLOW_ROOT,
      secrets,
      serverOwnPaths(config, serverInstallDir(), secrets),
    );
    if (verdict.refusal !== null) die(verdict.refusal);
    return verdict;
  } catch (error) {
    die(messageOf(error));
  }
}

async function bootstrap(): Promise<void> {
  // Before anything can start a child: none may inherit what the server's starter left open.
  const inherited = closeInheritedDescriptors();
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
    die(messageOf(error));
  }
  const children = checkChildren(config);
  let app: NestExpressApplication;
  try {
    app = await NestFactory.create<NestExpressApplication>(AppModule, {
      ...NEST_APP_OPTIONS,
      abortOnError: false,
      bufferLogs: true,
    });
  } catch (error) {
    die(messageOf(error));
  }
  app.useLogger(app.get(PinoNestLogger));
  const bind = decideBind(config.HOST, config.AUTH_REQUIRED, await app.get(ApiKeysService).count());
  if (bind.refusal !== null) {
    await app.close();
    die(bind.refusal);
  }
  configureApp(app);
  try {
    await app.listen(config.PORT, config.HOST);
  } catch (error) {
    await app.close();
    // listen() also runs the modules' start-up (the orchestrator's first sweep): only the
    // socket's own error is about listening.
    die(
      (error as NodeJS.ErrnoException).syscall === 'listen'
        ? `cannot listen on ${config.HOST}:${config.PORT}: ${messageOf(error)}`
        : `could not start: ${messageOf(error)}`,
    );
  }
  stopOnSignals(app);
  const logger = new Logger('Bootstrap');
  const shared =
    !isLoopback(config.HOST) || (await app.get(ApiKeysService).required(config.AUTH_REQUIRED));
  const exposed =
    shared && !children.isolated
      ? [
          "tasks of every key run as this server's user without a sandbox: any of them can read the server's environment and files (its database password included); set RUN_AS_USER or SANDBOX=bwrap (README: Security)",
        ]
      : !shared && children.isolated
        ? [
            "the agent and its tests reach this server's API on loopback, where no API key is required: there they act as its operator (every task's records, new sessions and tasks), whatever RUN_AS_USER and the sandbox keep from them; set AUTH_REQUIRED=true and create a key (README: Security)",
          ]
        : [];
  const closed =
    inherited.length === 0
      ? []
      : [
          `closed descriptor(s) ${inherited.join(', ')} this server was started with (not close-on-exec): every child would have inherited them`,
        ];
  for (const warning of [...children.warnings, ...bind.warnings, ...exposed, ...closed]) {
    logger.warn(warning);
  }
  const { port } = app.getHttpServer().address() as AddressInfo;
  const reach = isLoopback(config.HOST)
    ? 'loopback only (set HOST to listen on other interfaces)'
    : 'every client that can reach this address can run programs through it';
  logger.log(
    `Listening on http://${config.HOST}:${port} (API /api/v1, docs /docs): ${reach}; ${bind.access}; ${children.summary}`,
  );
}

void bootstrap();
