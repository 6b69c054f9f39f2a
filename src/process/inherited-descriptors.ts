import { closeSync, readdirSync, readFileSync } from 'node:fs';

/** `O_CLOEXEC` as /proc/<pid>/fdinfo shows it in `flags` (octal). */
const O_CLOEXEC = 0o2000000;

/**
 * DESCRIPTORS THE SERVER WAS STARTED WITH, CLOSED before it starts any child. Node opens every
 * descriptor of its own close-on-exec; one above the standard three without that flag came from
 * whatever started the server (a shell's `exec 5<dir`, a supervisor's pipe), and every child would
 * inherit it, inside the sandbox too and whatever user it runs as: through a directory's
 * descriptor (`/proc/self/fd/<n>/.env`) a sandboxed agent read what the sandbox hides. Returns the
 * numbers closed; none where /proc cannot be read.
 */
export function closeInheritedDescriptors(procSelf = '/proc/self'): number[] {
  let entries: string[];
  try {
    entries = readdirSync(`${procSelf}/fd`);
  } catch {
    return [];
  }
  const closed: number[] = [];
  for (const entry of entries) {
    const fd = Number(entry);
    if (!Number.isInteger(fd) || fd <= 2) continue;
    let flags: number;
    try {
      const line = /^flags:\s*([0-7]+)$/m.exec(readFileSync(`${procSelf}/fdinfo/${fd}`, 'utf8'));
      if (line === null) continue;
      flags = parseInt(line[1], 8);
    } catch {
      // Gone meanwhile: the listing's own descriptor.
      continue;
    }
    if ((flags & O_CLOEXEC) !== 0) continue;
    closeSync(fd);
    closed.push(fd);
  }
  return closed;
}
