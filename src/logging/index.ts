export { contextLogger } from 'src/logging/log-context';
export type { ContextLogger } from 'src/logging/log-context';
export { logAnsweredRequest } from 'src/logging/answered-request-line';
export { LoggingModule } from 'src/logging/logging.module';
export { SecretScrubber } from 'src/logging/secret-scrubber';
export { secretScrubberFor } from 'src/logging/server-scrubber';
