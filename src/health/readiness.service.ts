import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import {
  HealthCheckResult,
  HealthCheckService,
  HealthIndicatorResult,
  HealthIndicatorService,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
import { DataSource } from 'typeorm';
import { CliAvailabilityService } from 'src/claude-cli';
import { Draining } from 'src/common';
import { AppConfig } from 'src/config';
import { DatabaseProbe } from 'src/health/database-probe';
import { TaskOrchestratorService } from 'src/orchestrator';

/** Longest the database ping may take. */
const DATABASE_PING_TIMEOUT_MS = 3000;

/** How old the CLI's status may be before readiness asks again. */
const CLI_STATUS_MAX_AGE_MS = 60_000;

/**
 * READINESS (`@nestjs/terminus`): the database answers and can store a row, every migration is
 * applied, the server takes new work (it is not draining after SIGTERM), the orchestrator runs
 * (unless this is an API-only instance) and the Claude CLI is found. Any of them down makes the
 * whole check `error` (HTTP 503), with each one's state in the body.
 */
@Injectable()
export class ReadinessService {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly database: TypeOrmHealthIndicator,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly orchestrator: TaskOrchestratorService,
    private readonly cli: CliAvailabilityService,
    private readonly config: AppConfig,
    private readonly probe: DatabaseProbe,
    private readonly draining: Draining,
  ) {}

  check(): Promise<HealthCheckResult> {
    return this.health.check([
      () => this.database.pingCheck('database', { timeout: DATABASE_PING_TIMEOUT_MS }),
      () => this.writable(),
      () => this.migrations(),
      () => this.acceptingWork(),
      () => this.orchestratorState(),
      () => this.claudeCli(),
    ]);
  }

  private async writable(): Promise<HealthIndicatorResult> {
    const check = this.indicators.check('database_writable');
    const result = await this.probe.probe();
    return result.writable ? check.up() : check.down({ message: result.error ?? 'not writable' });
  }

  private acceptingWork(): HealthIndicatorResult {
    const check = this.indicators.check('accepting_work');
    return this.draining.active
      ? check.down({ message: 'shutting down: takes no new tasks' })
      : check.up();
  }

  private async migrations(): Promise<HealthIndicatorResult> {
    const check = this.indicators.check('migrations');
    try {
      const pending = await this.dataSource.showMigrations();
      return pending ? check.down({ message: 'migrations are pending' }) : check.up();
    } catch (error) {
      return check.down({
        message: error instanceof Error ? error.message.split('\n')[0] : 'unknown',
      });
    }
  }

  private orchestratorState(): HealthIndicatorResult {
    const check = this.indicators.check('orchestrator');
    if (!this.config.ORCHESTRATOR_ENABLED) return check.up({ enabled: false });
    return this.orchestrator.isRunning()
      ? check.up({ enabled: true })
      : check.down({ enabled: true, message: 'not running (starting or shutting down)' });
  }

  private async claudeCli(): Promise<HealthIndicatorResult> {
    const check = this.indicators.check('claude_cli');
    const status = await this.cli.freshStatus(CLI_STATUS_MAX_AGE_MS);
    return status.available
      ? check.up({ version: status.version, logged_in: status.loggedIn })
      : check.down({ message: status.error ?? 'not available' });
  }
}
