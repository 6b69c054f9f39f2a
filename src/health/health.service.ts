import { Injectable } from '@nestjs/common';
import { CliAvailabilityService } from 'src/claude-cli';
import { Draining } from 'src/common';
import { AppConfig } from 'src/config';
import { DatabaseProbe } from 'src/health/database-probe';
import { HealthResponseDto } from 'src/health/health-response.dto';
import { TaskOrchestratorService } from 'src/orchestrator';
import { WorkspaceUsage } from 'src/workspaces';

/** How old the CLI's status (installed, logged in) may be before a health check asks again. */
const CLI_STATUS_MAX_AGE_MS = 60_000;

@Injectable()
export class HealthService {
  constructor(
    private readonly database: DatabaseProbe,
    private readonly cli: CliAvailabilityService,
    private readonly orchestrator: TaskOrchestratorService,
    private readonly config: AppConfig,
    private readonly draining: Draining,
    private readonly workspaces: WorkspaceUsage,
  ) {}

  /**
   * `status` is `ok` unless the database is down (`error`) or the server drains after SIGTERM
   * (`draining`); a missing CLI is reported, not fatal.
   */
  async check(): Promise<HealthResponseDto> {
    const database = await this.database.probe();
    const cli = await this.cli.freshStatus(CLI_STATUS_MAX_AGE_MS);
    const usage = await this.workspaces.latest();
    return {
      status:
        database.status !== 'up' || !database.writable
          ? 'error'
          : this.draining.active
            ? 'draining'
            : 'ok',
      database,
      claude_cli: {
        command: cli.command,
        available: cli.available,
        version: cli.version,
        error: cli.error,
        logged_in: cli.loggedIn,
        auth_method: cli.authMethod,
      },
      orchestrator: { enabled: this.config.ORCHESTRATOR_ENABLED, ...this.orchestrator.stats() },
      workspaces: {
        dir: usage.dir,
        count: usage.count,
        disk_bytes: usage.bytes,
        max_bytes: usage.maxBytes,
        over_quota: usage.overQuota,
        measured_at: usage.measuredAt.toISOString(),
      },
    };
  }
}
