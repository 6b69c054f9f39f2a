/**
 * Why a task taken back from its owner may not be queued again, or null while it may: its
 * server was seen to die (on the sweeper's host) `restarts` times, MAX_TASK_ATTEMPTS at most;
 * or its lease ran out `leaseExpiries` times while its owner was not seen to live, twice
 * MAX_TASK_ATTEMPTS at most. An owner on another host cannot be seen to die: without the second
 * bound a task that crashes every server it runs on would move from host to host without end.
 * Twice, as such an expiry is not surely a death (an owner frozen, or cut off from the database,
 * past its lease loses its task the same way).
 */
export function whyNotRequeued(
  restarts: number,
  leaseExpiries: number,
  maxAttempts: number,
): string | null {
  if (restarts >= maxAttempts) {
    return `The server running this task stopped ${restarts} time(s); MAX_TASK_ATTEMPTS is ${maxAttempts}.`;
  }
  if (leaseExpiries >= 2 * maxAttempts) {
    return (
      `The lease of the server running this task ran out ${leaseExpiries} time(s) without that ` +
      `server being seen to stop (it ran on another host, where no other can see it die); such ` +
      `re-queues are bounded by twice MAX_TASK_ATTEMPTS (${2 * maxAttempts}).`
    );
  }
  return null;
}
