import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { IdempotencyKey } from 'src/idempotency/idempotency-key.entity';
import { IdempotencyInterceptor } from 'src/idempotency/idempotency.interceptor';
import { IdempotencyService } from 'src/idempotency/idempotency.service';

/** Idempotent creation by `Idempotency-Key`: the keys, their answers, and the route interceptor. */
@Module({
  imports: [TypeOrmModule.forFeature([IdempotencyKey])],
  providers: [IdempotencyService, IdempotencyInterceptor],
  exports: [IdempotencyService, IdempotencyInterceptor],
})
export class IdempotencyModule {}
