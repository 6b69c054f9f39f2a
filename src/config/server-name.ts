import { hostname } from 'node:os';
import { AppConfig } from 'src/config/app-config';

/** This machine's name: `configured` (HOST_ID) when set, else its hostname. */
export function hostId(configured: string | undefined): string {
  return configured || hostname();
}

/**
 * This server as messages name it to people: `[INSTANCE_ID@]host`, the host HOST_ID else the
 * machine's hostname, as in its lease owner id (`owner` of a task's status history).
 */
export function serverName(config: AppConfig): string {
  const host = hostId(config.HOST_ID);
  return config.INSTANCE_ID ? `${config.INSTANCE_ID}@${host}` : host;
}
