import { catchError, EMPTY, exhaustMap, from, interval, Subscription, tap } from 'rxjs';
import { Clock } from 'src/common';
import { Lease, LeaseLostError } from 'src/tasks';
import { TaskRunControl } from 'src/orchestrator/run/run-control';

export interface LeaseRenewalDeps {
  renew(lease: Lease): Promise<void>;
  clock: Clock;
  leaseMs: number;
  warn(message: string): void;
}

/**
 * Keeps a running task's lease: renews it every `leaseMs / 3`. A lease that could not be renewed
 * for `leaseMs` (the database was unreachable) may already belong to another server: the run is
 * stopped (`lease_lost`) rather than let two agents work in one project; so is one whose renewal
 * finds the lease gone.
 */
export function keepLease(
  lease: Lease,
  control: TaskRunControl,
  deps: LeaseRenewalDeps,
): Subscription {
  let renewedAt = deps.clock.nowMs();
  const everyMs = Math.max(200, Math.floor(deps.leaseMs / 3));
  return interval(everyMs)
    .pipe(
      tap(() => {
        if (deps.clock.nowMs() - renewedAt >= deps.leaseMs) control.stop('lease_lost');
      }),
      exhaustMap(() =>
        from(deps.renew(lease)).pipe(
          tap(() => (renewedAt = deps.clock.nowMs())),
          catchError((error: unknown) => {
            if (error instanceof LeaseLostError) control.stop('lease_lost');
            else deps.warn(`Task ${lease.taskId}: lease renewal failed: ${String(error)}`);
            return EMPTY;
          }),
        ),
      ),
    )
    .subscribe();
}
