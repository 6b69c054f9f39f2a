import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's CPU times. */
const TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

export interface CpuTimes {
  /** The process's own user + system time, ms. */
  selfMs: number;
  /** User + system time of its children that ended and were waited for, ms. */
  childrenMs: number;
  /** Resident set size, bytes. */
  rssBytes: number;
}

/** The CPU times of `pid` from /proc/<pid>/stat. */
export function cpuTimes(pid: number): CpuTimes {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields after the command, 0-based: 11 utime, 12 stime, 13 cutime, 14 cstime, 21 rss (pages).
  const ms = (index: number) => (Number(fields[index]) * 1000) / TICKS;
  return {
    selfMs: ms(11) + ms(12),
    childrenMs: ms(13) + ms(14),
    rssBytes: Number(fields[21]) * 4096,
  };
}
