import { performance } from 'node:perf_hooks';
import { findOnPath, isRunnableFile } from 'src/process/child-isolation';

/** How long a command found on PATH is taken as its path without looking again. */
const FOUND_FOR_MS = 10_000;
/** Most commands remembered (a server starts a handful: the CLI, git, test runners). */
const MAX_REMEMBERED = 64;

/**
 * WHERE EACH COMMAND WAS FOUND ON PATH, REMEMBERED FOR A WHILE, as a shell's command hash does.
 * Every spawn looks its command up, and that is a `stat` of each PATH directory before the one
 * holding it (`npm start` puts several `node_modules/.bin` directories first): about a hundred
 * failed `stat` calls on the server's main thread per task. Here a command found is remembered
 * for `FOUND_FOR_MS`, checked to still be a file it can run at each use (one `stat`, one
 * `access`), and looked up again when it is not, or when the time is up (a command installed
 * earlier on PATH meanwhile is found then). A command not found is never remembered.
 */
export class CommandPaths {
  private readonly found = new Map<string, { path: string; atMs: number }>();

  constructor(private readonly nowMs: () => number = () => performance.now()) {}

  /** The path of `command` on `pathVariable` (`findOnPath`; a path with a slash is not remembered), or null. */
  find(command: string, pathVariable: string | undefined): string | null {
    if (command.includes('/')) return findOnPath(command, pathVariable);
    const key = `${command}\0${pathVariable ?? ''}`;
    const now = this.nowMs();
    const known = this.found.get(key);
    if (known !== undefined && now - known.atMs < FOUND_FOR_MS && isRunnableFile(known.path)) {
      return known.path;
    }
    this.found.delete(key);
    const path = findOnPath(command, pathVariable);
    if (path !== null) {
      if (this.found.size >= MAX_REMEMBERED) this.found.clear();
      this.found.set(key, { path, atMs: now });
    }
    return path;
  }
}

/** This process's commands, for every spawn it makes. */
export const commandPaths = new CommandPaths();
