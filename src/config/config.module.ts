import { existsSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { Global, Module } from '@nestjs/common';
import { AppConfig, ConfigValidationError, knownSettings, loadConfig } from 'src/config/app-config';
import { misspelledSettings } from 'src/config/setting-names';
import { readSmallRegularFile, unreadableReason } from 'src/config/small-regular-file';

/** Largest `.env` read: every setting with a comment is a few kilobytes. */
const ENV_FILE_MAX_BYTES = 1024 * 1024;

/**
 * Reads `.env` from the working directory when present; real environment variables win. A `.env`
 * that is not a small regular file, or that misspells a setting's name, stops the start with the
 * configuration's own message.
 */
export function readEnvironment(): NodeJS.ProcessEnv {
  if (!existsSync('.env')) return process.env;
  let text: string;
  try {
    text = readSmallRegularFile('.env', ENV_FILE_MAX_BYTES);
  } catch (error) {
    throw new ConfigValidationError([`.env cannot be read (${unreadableReason(error)})`]);
  }
  const entries = parseEnv(text);
  const misspelled = misspelledSettings(Object.keys(entries), knownSettings());
  if (misspelled.length > 0) throw new ConfigValidationError(misspelled);
  for (const [name, value] of Object.entries(entries)) {
    process.env[name] ??= value;
  }
  return process.env;
}

@Global()
@Module({
  providers: [{ provide: AppConfig, useFactory: () => loadConfig(readEnvironment()) }],
  exports: [AppConfig],
})
export class ConfigModule {}
