export { AppConfig, ConfigValidationError, loadConfig } from 'src/config/app-config';
export { ConfigModule, readEnvironment } from 'src/config/config.module';
