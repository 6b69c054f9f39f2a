import { getPriority, setPriority } from 'node:os';
import { HostCommand, HostEvent, SHUTDOWN_GRACE_MS } from 'src/process/host/host-protocol';
import { findGroupLeader } from 'src/process/group-leader';
import { ProcessHost } from 'src/process/host/process-host';
import { makeSessionNicer, nicerBy } from 'src/process/session-nice';

/**
 * Entry point of the process host (forked by `ProcessLauncher` with an IPC channel and the
 * niceness to add to its own, CHILD_NICE, as its argument, leading a session of its own): lowers
 * its CPU priority and its session's (every child it starts inherits both: `session-nice.ts`),
 * finds the group leader its children run under (`group-leader.ts`), wires a `ProcessHost` to the
 * channel, checks its deadlines (and forgets stopped groups that are gone) every 200 ms, and when
 * the server goes away ends every child and exits.
 */

const DEADLINE_CHECK_MS = 200;

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
process.on('message', (command: HostCommand) => host.handle(command));
const deadlines = setInterval(() => {
  host.forgetStopped();
  void host.enforceDeadlines();
}, DEADLINE_CHECK_MS);
process.on('disconnect', () => {
  clearInterval(deadlines);
  void host.shutdown(SHUTDOWN_GRACE_MS).finally(() => process.exit(0));
});
// Signals meant for the server (a Ctrl-C reaches the terminal's whole process group) are not
// for the host: it ends its children when the server closes the channel.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => undefined);
