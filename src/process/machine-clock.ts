/**
 * THE MACHINE'S MONOTONIC CLOCK, in milliseconds (`CLOCK_MONOTONIC`, through `process.hrtime`):
 * one timeline for every process on this machine, the server and its process host alike, that a
 * step of the wall clock (an NTP correction, a clock set by hand) does not move. The host keeps
 * its deadlines by it: on `Date.now()` a step forward ended every agent at once, their leases
 * still good. A machine that sleeps past a lease is the server's to notice (its renewal fails and
 * the run stops, ending its processes); the host's deadline is the backstop for a server that
 * cannot.
 */
export function machineMonotonicMs(): number {
  return Number(process.hrtime.bigint() / 1_000_000n);
}
