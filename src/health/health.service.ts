import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { CliAvailabilityService } from 'src/claude-cli';
import { AppConfig } from 'src/config';
import { HealthResponseDto } from 'src/health/health-response.dto';
import { TaskOrchestratorService } from 'src/orchestrator';
import { WorkspaceUsage } from 'src/workspaces';

/** Longest a health probe waits for the database. */
const DATABASE_PROBE_TIMEOUT_MS = 3000;

/** How old the CLI's status (installed, logged in) may be before a health check asks again. */
const CLI_STATUS_MAX_AGE_MS = 60_000;

@Injectable()
export class HealthService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly cli: CliAvailabilityService,
    private readonly orchestrator: TaskOrchestratorService,
    private readonly config: AppConfig,
    private readonly workspaces: WorkspaceUsage,
  ) {}

  /** `status` is `ok` unless the database is down; a missing CLI is reported, not fatal. */
  async check(): Promise<HealthResponseDto> {
    const database = await this.probeDatabase();
    const cli = await this.cli.freshStatus(CLI_STATUS_MAX_AGE_MS);
    const usage = await this.workspaces.snapshot();
    return {
      status: database.status === 'up' ? 'ok' : 'error',
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

  private async probeDatabase(): Promise<HealthResponseDto['database']> {
    const type = this.dataSource.options.type;
    let timer: NodeJS.Timeout | undefined;
    try {
      if (!this.dataSource.isInitialized) throw new Error('not connected');
      await Promise.race([
        this.dataSource.query('SELECT 1'),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('timed out')), DATABASE_PROBE_TIMEOUT_MS);
        }),
      ]);
      return { status: 'up', type, error: null };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return { status: 'down', type, error: message.split('\n')[0].slice(0, 200) };
    } finally {
      clearTimeout(timer);
    }
  }
}
