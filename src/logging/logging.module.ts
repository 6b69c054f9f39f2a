import {
  Global,
  Inject,
  MiddlewareConsumer,
  Module,
  NestModule,
  RequestMethod,
} from '@nestjs/common';
import { LoggerModule, PARAMS_PROVIDER_TOKEN } from 'nestjs-pino';
import { pinoHttp } from 'pino-http';
import { AppConfig } from 'src/config';
import { LoggerParams, loggerOptions } from 'src/logging/logger-options';
import { SecretScrubber } from 'src/logging/secret-scrubber';
import { secretScrubberFor } from 'src/logging/server-scrubber';

/**
 * Structured logs (nestjs-pino): see `logger-options.ts`. `main.ts` makes it Nest's logger. The
 * line of each request is pino-http's, applied here to every route (nestjs-pino's middleware,
 * which would also run the request inside an AsyncLocalStorage, to none). nestjs-pino still sets
 * `PinoLogger.root` (the root logger `contextLogger` and the status fast path write through) when
 * the middleware is configured, before any module's start-up. Its `SecretScrubber` is offered to
 * every module (the audit trail scrubs what it stores of a caller's text with it).
 */
@Global()
@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => loggerOptions(config, secretScrubberFor(config)),
    }),
  ],
  providers: [{ provide: SecretScrubber, inject: [AppConfig], useFactory: secretScrubberFor }],
  exports: [SecretScrubber],
})
export class LoggingModule implements NestModule {
  constructor(@Inject(PARAMS_PROVIDER_TOKEN) private readonly params: LoggerParams) {}

  /**
   * For every path and method as nestjs-pino did: a route of its own (not `use`), so a request no
   * controller answers has `/{*path}` as its `req.route` (in its line and its metrics' labels).
   */
  configure(consumer: MiddlewareConsumer): void {
    consumer
      .apply(pinoHttp(...this.params.pinoHttp))
      .forRoutes({ path: '{*path}', method: RequestMethod.ALL });
  }
}
