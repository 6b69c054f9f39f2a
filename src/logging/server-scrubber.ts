import { AppConfig } from 'src/config';
import { parseDatabaseUrl } from 'src/database';
import { SecretScrubber } from 'src/logging/secret-scrubber';

/** The server's own secrets, whose exact values are blanked in every log line. */
function secretsOf(config: AppConfig): (string | undefined)[] {
  let databasePassword: string | undefined;
  try {
    const target = parseDatabaseUrl(config.DATABASE_URL);
    databasePassword = target.type === 'mysql' ? target.password : undefined;
  } catch {
    databasePassword = undefined;
  }
  return [databasePassword, config.METRICS_TOKEN, process.env.ANTHROPIC_API_KEY];
}

const scrubbers = new WeakMap<AppConfig, SecretScrubber>();

/**
 * THE scrubber of the server run with `config`: the one every log line goes through, and what the
 * audit trail stores of a caller's text (a request's path, the body fields it records) goes
 * through too, so neither keeps key material or the server's secrets. One per configuration.
 */
export function secretScrubberFor(config: AppConfig): SecretScrubber {
  let scrubber = scrubbers.get(config);
  if (scrubber === undefined) {
    scrubber = new SecretScrubber(secretsOf(config));
    scrubbers.set(config, scrubber);
  }
  return scrubber;
}
