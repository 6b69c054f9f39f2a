import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { Subscription } from 'rxjs';
import { ClaudeInteraction, TaskEventLog } from 'src/tasks';
import { MetricsService } from 'src/metrics/metrics.service';

const text = (value: unknown, fallback: string): string =>
  typeof value === 'string' && value !== '' ? value : fallback;

/**
 * Feeds the task counters from what the event log publishes (every record of a task, after it
 * was stored): status changes, claims and lease recoveries from `status` records, turns with their
 * outcome, duration, cost and tokens from `result` records, test runs from `test` records. The
 * run itself knows nothing of metrics.
 */
@Injectable()
export class TaskMetricsService implements OnModuleInit, OnModuleDestroy {
  private subscription?: Subscription;

  constructor(
    private readonly events: TaskEventLog,
    private readonly metrics: MetricsService,
  ) {}

  onModuleInit(): void {
    this.subscription = this.events.events$.subscribe((event) => this.count(event));
  }

  onModuleDestroy(): void {
    this.subscription?.unsubscribe();
  }

  private count(event: ClaudeInteraction): void {
    const data = event.data ?? {};
    const m = this.metrics;
    if (event.kind === 'status') {
      const to = text(data.to, 'unknown');
      m.statusChanges.inc({ to, reason: text(data.reason, 'unknown') });
      if (data.from === 'PENDING' && to === 'RUNNING') {
        m.claims.inc({ reason: text(data.reason, 'claimed') });
      }
      if (data.previous_owner !== undefined) m.leaseRecoveries.inc({ to });
    } else if (event.kind === 'result') {
      m.turns.inc({ outcome: text(data.outcome, 'unknown') });
      if (typeof data.duration_ms === 'number') m.turnDuration.observe(data.duration_ms / 1000);
      if (event.costUsd !== null && event.costUsd > 0) m.cost.inc(event.costUsd);
      if (event.inputTokens) m.tokens.inc({ direction: 'input' }, event.inputTokens);
      if (event.outputTokens) m.tokens.inc({ direction: 'output' }, event.outputTokens);
    } else if (event.kind === 'test') {
      // The verification's own runs count under their stage (`baseline`, `generated_at_base`,
      // `existing_tests_on_change`, ...), not as test rounds.
      m.testRuns.inc({
        kind: text(data.stage, text(data.kind, 'unknown')),
        result: data.passed === true ? 'passed' : 'failed',
      });
    }
  }
}
