import { Logger } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';

/** What a run logs through (structurally the run's `RunLogger`). */
export interface ContextLogger {
  log(message: string): void;
  warn(message: string): void;
  error(message: string): void;
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
