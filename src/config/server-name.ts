import { hostname } from 'node:os';
import { AppConfig } from 'src/config/app-config';

/**
 * This server as messages name it to people: `[INSTANCE_ID@]host`, the host HOST_ID else the
 * machine's hostname, as in its lease owner id (`owner` of a task's status history).
 */
export function serverName(config: AppConfig): string {
  const host = config.HOST_ID ?? hostname();
  return config.INSTANCE_ID ? `${config.INSTANCE_ID}@${host}` : host;
}
