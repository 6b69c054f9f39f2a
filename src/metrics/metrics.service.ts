import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { Clock } from 'src/common';
import { Task, TASK_STATUSES, TaskStatus } from 'src/tasks';

/** Buckets of the request latency histogram, seconds. */
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Buckets of the agent turn duration histogram, seconds. */
const TURN_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1200];

/**
 * THE METRICS (prom-client), in a registry of this app's own: HTTP requests by route and status
 * with latency, the task counters fed by the event log (`TaskMetrics`), and gauges read from the
 * database when scraped (tasks by status, queue depth, age of the oldest queued task), plus Node's
 * process metrics and event-loop lag. `GET /metrics` serves them.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: 'cta_http_requests_total',
    help: 'HTTP requests answered, by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: 'cta_http_request_duration_seconds',
    help: 'Time to answer HTTP requests, by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: HTTP_BUCKETS,
    registers: [this.registry],
  });

  /**
   * The request counter and latency histogram of each method, route and status seen, labelled
   * once: as few entries as the metrics themselves have series (routes are templates).
   */
  private readonly requestSeries = new Map<
    string,
    { count: Counter.Internal; duration: Histogram.Internal<string> }
  >();

  /** Counts one answered request and its latency (`route`: its template, or `unmatched`). */
  recordRequest(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${status} ${route}`;
    let series = this.requestSeries.get(key);
    if (series === undefined) {
      const labels = { method, route, status: String(status) };
      series = {
        count: this.httpRequests.labels(labels),
        duration: this.httpDuration.labels(labels),
      };
      this.requestSeries.set(key, series);
    }
    series.count.inc();
    series.duration.observe(seconds);
  }

  readonly statusChanges = new Counter({
    name: 'cta_task_status_changes_total',
    help: 'Task status changes written by this instance, by new status and reason',
    labelNames: ['to', 'reason'] as const,
    registers: [this.registry],
  });

  readonly claims = new Counter({
    name: 'cta_task_claims_total',
    help: 'Tasks claimed from the queue by this instance (reason: claimed, or resumed after a restart)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly leaseRecoveries = new Counter({
    name: 'cta_lease_recoveries_total',
    help: 'Tasks taken back from a dead or silent owner by this instance, by the status they went to',
    labelNames: ['to'] as const,
    registers: [this.registry],
  });

  readonly turns = new Counter({
    name: 'cta_agent_turns_total',
    help: 'Agent turns (one CLI run each) ended, by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly turnDuration = new Histogram({
    name: 'cta_agent_turn_duration_seconds',
    help: 'Duration of agent turns as the CLI reports it',
    buckets: TURN_BUCKETS,
    registers: [this.registry],
  });

  readonly cost = new Counter({
    name: 'cta_agent_cost_usd_total',
    help: 'What agent turns cost, USD',
    registers: [this.registry],
  });

  readonly tokens = new Counter({
    name: 'cta_agent_tokens_total',
    help: 'Tokens used by agent turns, by direction',
    labelNames: ['direction'] as const,
    registers: [this.registry],
  });

  readonly testRuns = new Counter({
    name: 'cta_test_runs_total',
    help: 'Test runs (generated tests, regression suite; the verification runs: baseline, generated_at_base, existing_tests_on_change, existing_tests_at_base, regression_rerun), by kind and result',
    labelNames: ['kind', 'result'] as const,
    registers: [this.registry],
  });

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly clock: Clock,
  ) {
    collectDefaultMetrics({ register: this.registry });
    const tasks: Gauge<'status'> = new Gauge({
      name: 'cta_tasks',
      help: 'Tasks in the database, by status',
      labelNames: ['status'] as const,
      registers: [this.registry],
      collect: async (): Promise<void> => {
        const counts = await this.countByStatus();
        for (const status of TASK_STATUSES) tasks.set({ status }, counts.get(status) ?? 0);
      },
    });
    const depth: Gauge = new Gauge({
      name: 'cta_queue_depth',
      help: 'Tasks waiting in the queue (PENDING)',
      registers: [this.registry],
      collect: async (): Promise<void> =>
        depth.set((await this.countByStatus()).get(TaskStatus.Pending) ?? 0),
    });
    const oldest: Gauge = new Gauge({
      name: 'cta_queue_oldest_pending_age_seconds',
      help: 'Age of the oldest queued (PENDING) task, seconds; 0 when none waits',
      registers: [this.registry],
      collect: async (): Promise<void> => oldest.set(await this.oldestPendingAgeSeconds()),
    });
  }

  private async countByStatus(): Promise<Map<string, number>> {
    const rows = await this.dataSource
      .getRepository(Task)
      .createQueryBuilder('t')
      .select('t.status', 'status')
      .addSelect('COUNT(*)', 'count')
      .groupBy('t.status')
      .getRawMany<{ status: string; count: string | number }>();
    return new Map(rows.map((r) => [r.status, Number(r.count)]));
  }

  private async oldestPendingAgeSeconds(): Promise<number> {
    const oldest = await this.dataSource.getRepository(Task).findOne({
      select: { createdAt: true },
      where: { status: TaskStatus.Pending },
      order: { createdAt: 'ASC' },
    });
    if (oldest === null) return 0;
    return Math.max(0, (this.clock.nowMs() - oldest.createdAt.getTime()) / 1000);
  }
}
