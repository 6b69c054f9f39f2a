import { catchError, EMPTY, exhaustMap, from, interval, Subscription, tap } from 'rxjs';
import { Clock } from 'src/common';
import { Lease, LeaseLostError } from 'src/tasks';
import { TaskRunControl } from 'src/orchestrator/run/run-control';

export interface LeaseRenewalDeps {
  /** Renews the lease (fenced); resolves with its new expiry. */
  renew(lease: Lease): Promise<Date>;
  /** Told of every new expiry (the process host ends the task's processes past it). */
  renewed(expiresAt: Date): void;
  clock: Clock;
  leaseMs: number;
  warn(message: string): void;
}

/**
 * Keeps a running task's lease: renews it every `leaseMs / 3`, and tells `renewed` the new
 * expiry each time.
 *
 * - A renewal is fenced (attempt and owner must still match): when it finds the lease gone (the
 *   task was taken back or claimed elsewhere) the run is stopped (`lease_lost`).
 * - A renewal that comes late (this server's event loop stalled, or it was frozen) but finds the
 *   lease still its own simply renews it: nobody took the task, so the run goes on. (Its
 *   processes may have been ended meanwhile by the process host, whose deadline passed; the run
 *   then sees its turn end as killed and recovers.)
 * - A lease that could not be renewed for `leaseMs` because the database answered with errors
 *   may already belong to another server: the run is stopped (`lease_lost`) rather than let two
 *   agents work in one project.
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
      exhaustMap(() =>
        from(deps.renew(lease)).pipe(
          tap((expiresAt) => {
            renewedAt = deps.clock.nowMs();
            deps.renewed(expiresAt);
          }),
          catchError((error: unknown) => {
            if (error instanceof LeaseLostError) {
              control.stop('lease_lost');
              return EMPTY;
            }
            deps.warn(`Task ${lease.taskId}: lease renewal failed: ${String(error)}`);
            if (deps.clock.nowMs() - renewedAt >= deps.leaseMs) control.stop('lease_lost');
            return EMPTY;
          }),
        ),
      ),
    )
    .subscribe();
}
