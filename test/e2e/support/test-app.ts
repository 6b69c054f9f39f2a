import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LogLevel } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Test, TestingModuleBuilder } from '@nestjs/testing';
import { getDataSourceToken } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppModule } from 'src/app.module';
import { AppConfig, loadConfig } from 'src/config/app-config';
import { configureApp, NEST_APP_OPTIONS } from 'src/common/http/configure-app';
import { createTestDatabase, TestDatabase, TestDatabaseKind } from 'test/e2e/support/test-database';

export interface TestAppOptions {
  /**
   * Which engine; a fresh database is created for this app and removed by `close()`. Or an
   * existing test database to share between several apps (server instances); `close()` then
   * leaves it for its creator to drop.
   */
  database?: TestDatabaseKind | TestDatabase;
  /**
   * AppConfig variables (as strings, like the environment) on top of the defaults. The real
   * process environment is NOT read; DATABASE_URL is set to the fresh database. The task
   * orchestrator is off (ORCHESTRATOR_ENABLED=false) unless `env` turns it on. WORKSPACES_DIR is
   * a fresh temporary directory (removed by `close()`) unless `env` names one; the structured log
   * shows errors only (LOG_LEVEL=error) unless `env` says otherwise; REQUIRE_FAILING_TESTS is
   * false unless `env` says otherwise (the fake agent's usual tests pass without a change).
   */
  env?: Record<string, string>;
  /** Extra provider overrides, e.g. `(b) => b.overrideProvider(X).useValue(fake)`. */
  override?: (builder: TestingModuleBuilder) => TestingModuleBuilder;
  /** Nest log levels; defaults to errors and warnings only. */
  logger?: LogLevel[] | false;
}

export interface TestApp {
  /** Initialised (not listening) app; use `request(app.getHttpServer())`. */
  app: NestExpressApplication;
  config: AppConfig;
  dataSource: DataSource;
  database: TestDatabase;
  /** Closes the app (shutdown hooks run) and drops the database. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Boots the real AppModule on a fresh database through the real migrations, with the same request
 * pipeline as production (CommonModule providers + configureApp), config built explicitly from
 * `env` via `loadConfig` (never from process.env).
 */
export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const shared = typeof options.database === 'object' ? options.database : null;
  const database =
    shared ?? (await createTestDatabase((options.database as TestDatabaseKind) ?? 'sqlite'));
  const ownWorkspaces =
    options.env?.WORKSPACES_DIR === undefined
      ? mkdtempSync(join(tmpdir(), 'cta-test-workspaces-'))
      : null;
  const dropOwnDatabase = async (): Promise<void> => {
    if (ownWorkspaces !== null) rmSync(ownWorkspaces, { recursive: true, force: true });
    if (!shared) await database.drop();
  };
  let app: NestExpressApplication | undefined;
  try {
    const config = loadConfig({
      ORCHESTRATOR_ENABLED: 'false',
      ...(ownWorkspaces !== null ? { WORKSPACES_DIR: ownWorkspaces } : {}),
      LOG_LEVEL: 'error',
      // The fake agent's scripted tests pass without any change; suites about verification
      // turn it on.
      REQUIRE_FAILING_TESTS: 'false',
      ...options.env,
      DATABASE_URL: database.url,
    });
    let builder = Test.createTestingModule({ imports: [AppModule] })
      .overrideProvider(AppConfig)
      .useValue(config);
    if (options.override) builder = options.override(builder);
    const moduleRef = await builder.compile();
    app = moduleRef.createNestApplication<NestExpressApplication>({
      ...NEST_APP_OPTIONS,
      logger: options.logger ?? ['error', 'warn'],
    });
    configureApp(app);
    await app.init();
    const started = app;
    let closed = false;
    return {
      app: started,
      config,
      dataSource: started.get<DataSource>(getDataSourceToken()),
      database,
      close: async () => {
        if (closed) return;
        closed = true;
        try {
          await started.close();
        } finally {
          await dropOwnDatabase();
        }
      },
    };
  } catch (error) {
    await app?.close().catch(() => undefined);
    await dropOwnDatabase();
    throw error;
  }
}
