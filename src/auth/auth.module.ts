import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Clock, DocsGate } from 'src/common';
import { AppConfig } from 'src/config';
import { SessionsModule } from 'src/sessions';
import { TasksModule } from 'src/tasks';
import { ApiAccessGuard } from 'src/auth/api-access.guard';
import { ApiKeyDocsGate } from 'src/auth/api-key-docs-gate';
import { ApiKey } from 'src/auth/api-key.entity';
import { ApiKeysController } from 'src/auth/api-keys.controller';
import { ApiKeysService } from 'src/auth/api-keys.service';
import { ApiThrottlerGuard } from 'src/auth/api-throttler.guard';
import { KeyRevocations } from 'src/auth/key-revocations';
import { OwnedRoutes } from 'src/auth/owned-routes';
import { RateLimitStorage } from 'src/auth/rate-limit-storage';

/**
 * API keys (`/api/v1/api-keys`, `npm run api-key`), the global guard that turns each request's
 * key into its principal and applies scopes, rate limits and ownership, and the key gate in front
 * of `/docs`.
 */
@Module({
  imports: [
    TypeOrmModule.forFeature([ApiKey]),
    ThrottlerModule.forRootAsync({
      inject: [AppConfig, Clock],
      useFactory: (config: AppConfig, clock: Clock) => ({
        throttlers: [
          { name: 'default', ttl: 60_000, limit: Math.max(1, config.RATE_LIMIT_PER_MINUTE) },
        ],
        storage: new RateLimitStorage(clock),
      }),
    }),
    SessionsModule,
    TasksModule,
  ],
  controllers: [ApiKeysController],
  providers: [
    ApiKeysService,
    KeyRevocations,
    ApiThrottlerGuard,
    OwnedRoutes,
    ApiAccessGuard,
    { provide: APP_GUARD, useExisting: ApiAccessGuard },
    { provide: DocsGate, useClass: ApiKeyDocsGate },
  ],
  exports: [ApiAccessGuard, ApiKeysService, DocsGate, KeyRevocations],
})
export class AuthModule {}
