import { getPriority, setPriority } from 'node:os';
import { HostCommand, HostEvent, SHUTDOWN_GRACE_MS } from 'src/process/host/host-protocol';
import { findGroupLeader } from 'src/process/group-leader';
import { ProcessHost } from 'src/process/host/process-host';
import { machineMonotonicMs } from 'src/process/machine-clock';
import { makeSessionNicer, nicerBy } from 'src/process/session-nice';

/**
 * Entry point of the process host (forked by `ProcessLauncher` with an IPC channel and the
 * niceness to add to its own, CHILD_NICE, as its argument, leading a session of its own): lowers
 * its CPU priority and its session's (every child it starts inherits both: `session-nice.ts`),
 * finds the group leader its children run under (`group-leader.ts`), wires a `ProcessHost` to the
 * channel, checks its deadlines (and looks for processes that escaped from released directories)
 * when the next is due, forgets stopped groups that are gone every FORGET_STOPPED_MS, and when the
 * server goes away ends every child and exits.
 *
 * It wakes for a deadline rather than every 200 ms as it did: each wake-up of an idle host cost it
 * about 0.6 ms of CPU, 2–3 ms a second with nothing to do (test/bench/RESULTS.md).
 */

/**
 * The longest the host waits between two looks at its deadlines (and at when to look for escaped
 * processes) while it has one: they are epoch times, and should the wall clock jump ahead one is
 * met this late at most.
 */
const DEADLINE_CHECK_MAX_MS = 500;
/** How often groups being stopped, and adopted ones, whose leader is gone are forgotten. */
const FORGET_STOPPED_MS = 5000;

function send(event: HostEvent, sent: () => void): void {
  if (!process.connected) return;
  process.send!(event, undefined, undefined, () => sent());
}

const nice = Number(process.argv[2] ?? 0);
if (nice > 0) {
  setPriority(nicerBy(getPriority(), nice));
  // The session this host leads is a scheduling group of its own: nicer than the server's too.
  makeSessionNicer('self', process.ppid, nice);
}

// Forked by the server: its parent is the server, whose pid marks every child.
const host = new ProcessHost(send, {
  groupLeader: findGroupLeader(process.env.PATH),
  serverPid: process.ppid,
});
let dueCheck: NodeJS.Timeout | undefined;
/**
 * Wakes when the next deadline or look for escaped processes is due (DEADLINE_CHECK_MAX_MS at
 * most); not at all without one.
 */
function scheduleDueCheck(): void {
  clearTimeout(dueCheck);
  const next = host.nextDueMs();
  if (next === null) return;
  const delayMs = Math.min(Math.max(0, next - machineMonotonicMs()), DEADLINE_CHECK_MAX_MS);
  dueCheck = setTimeout(() => {
    // A directory's processes are ended over up to two grace periods: the next deadline is not
    // kept waiting for that.
    void host.enforceDeadlines();
    void host.endEscaped();
    scheduleDueCheck();
  }, delayMs);
}
process.on('message', (command: HostCommand) => {
  host.handle(command);
  if (command.type === 'supervise' || command.type === 'release') scheduleDueCheck();
});
const forgetting = setInterval(() => host.forgetStopped(), FORGET_STOPPED_MS);
process.on('disconnect', () => {
  clearTimeout(dueCheck);
  clearInterval(forgetting);
  void host.shutdown(SHUTDOWN_GRACE_MS).finally(() => process.exit(0));
});
// Signals meant for the server (a Ctrl-C reaches the terminal's whole process group) are not
// for the host: it ends its children when the server closes the channel.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => undefined);
