export { AppConfig, ConfigValidationError, loadConfig, settingFiles } from 'src/config/app-config';
export { ConfigModule, readEnvironment } from 'src/config/config.module';
export { readSmallRegularFile } from 'src/config/small-regular-file';
export { trustProxySetting } from 'src/config/trust-proxy';
export { hostId, serverName } from 'src/config/server-name';
