import { Logger } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { storage, Store } from 'nestjs-pino/storage';

/** What a run logs through (structurally the run's `RunLogger`). */
export interface ContextLogger {
  log(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/**
 * Runs `fn` with `fields` on every line logged through Nest's `Logger` from inside it, and from
 * whatever it starts asynchronously (timers, promises, child process events: nestjs-pino's
 * AsyncLocalStorage follows them). A task's run is started this way with its `task_id`, so the
 * lines of the CLI runner and the test runner working for it carry the id too.
 */
export function runWithLogFields<T>(fields: Record<string, string>, fn: () => T): T {
  const root = PinoLogger.root as PinoLogger['logger'] | undefined;
  if (root === undefined) return fn();
  return storage.run(new Store(root.child(fields)), fn);
}

/**
 * A logger whose every line carries `fields` (a task's `task_id`) and `context`, wherever it is
 * called from (a cancel arriving through an HTTP request included).
 */
export function contextLogger(context: string, fields: Record<string, string>): ContextLogger {
  const root = PinoLogger.root as PinoLogger['logger'] | undefined;
  if (root === undefined) {
    const nest = new Logger(context);
    const suffix = Object.entries(fields)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    return {
      log: (m) => nest.log(`${m} [${suffix}]`),
      warn: (m) => nest.warn(`${m} [${suffix}]`),
      error: (m) => nest.error(`${m} [${suffix}]`),
    };
  }
  const child = root.child({ context, ...fields });
  return {
    log: (m) => child.info(m),
    warn: (m) => child.warn(m),
    error: (m) => child.error(m),
  };
}
