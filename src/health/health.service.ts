import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { CliAvailabilityService } from 'src/claude-cli';
import { Clock, Draining } from 'src/common';
import { databaseFailureOf } from 'src/database';
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
    private readonly draining: Draining,
    private readonly clock: Clock,
    private readonly workspaces: WorkspaceUsage,
  ) {}

  /**
   * `status` is `ok` unless the database is down (`error`) or the server drains after SIGTERM
   * (`draining`); a missing CLI is reported, not fatal.
   */
  async check(): Promise<HealthResponseDto> {
    const database = await this.probeDatabase();
    const cli = await this.cli.freshStatus(CLI_STATUS_MAX_AGE_MS);
    const usage = await this.workspaces.snapshot();
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

  /**
   * A read and a small write (`health_probe`), within DATABASE_PROBE_TIMEOUT_MS: `down` when the
   * database does not answer, `up` but not `writable` when it cannot store anything.
   */
  private async probeDatabase(): Promise<HealthResponseDto['database']> {
    const type = this.dataSource.options.type;
    let timer: NodeJS.Timeout | undefined;
    const firstLine = (error: unknown): string =>
      (error instanceof Error ? error.message : String(error)).split('\n')[0].slice(0, 200);
    try {
      if (!this.dataSource.isInitialized) throw new Error('not connected');
      const probe = async (): Promise<string | null> => {
        await this.dataSource.query('SELECT 1');
        try {
          // 'YYYY-MM-DD HH:MM:SS.mmm' (UTC): a datetime value both engines take as a parameter.
          const now = this.clock.now().toISOString().slice(0, 23).replace('T', ' ');
          await this.dataSource.query('UPDATE health_probe SET checked_at = ? WHERE id = 1', [now]);
          return null;
        } catch (error) {
          if (databaseFailureOf(error) === 'full') return firstLine(error);
          throw error;
        }
      };
      const unwritable = await Promise.race([
        probe(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('timed out')), DATABASE_PROBE_TIMEOUT_MS);
        }),
      ]);
      return { status: 'up', type, writable: unwritable === null, error: unwritable };
    } catch (error) {
      return { status: 'down', type, writable: false, error: firstLine(error) };
    } finally {
      clearTimeout(timer);
    }
  }
}
