import { Global, MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { APP_FILTER, APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import { Clock } from 'src/common/clock';
import { Draining } from 'src/common/draining';
import { AllExceptionsFilter } from 'src/common/http/all-exceptions.filter';
import { JsonBodyMiddleware } from 'src/common/http/json-body.middleware';
import { ReadRetryInterceptor } from 'src/common/http/read-retry.interceptor';
import { RequestDenials } from 'src/common/http/request-denials';
import { RequestIdMiddleware } from 'src/common/http/request-id.middleware';
import { UnreadInputInterceptor } from 'src/common/http/unread-input.interceptor';
import { createValidationPipe } from 'src/common/http/validation.pipe';

/**
 * The request pipeline every route shares, registered as providers so a test that compiles
 * AppModule gets exactly what production gets: request ids, the JSON body parser (the app is
 * created with `bodyParser: false`), the validation pipe, writes with a query string their route
 * does not read refused, reads tried again through transient database errors, and the exception
 * filter. It also provides the `Clock`, the `Draining` state
 * and `RequestDenials` (401/403 answers, for the audit trail) to every module.
 */
@Global()
@Module({
  providers: [
    { provide: APP_PIPE, useFactory: createValidationPipe },
    { provide: APP_FILTER, useClass: AllExceptionsFilter },
    { provide: APP_INTERCEPTOR, useClass: UnreadInputInterceptor },
    { provide: APP_INTERCEPTOR, useClass: ReadRetryInterceptor },
    Clock,
    Draining,
    RequestDenials,
  ],
  exports: [Clock, Draining, RequestDenials],
})
export class CommonModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(RequestIdMiddleware, JsonBodyMiddleware).forRoutes('{*path}');
  }
}
