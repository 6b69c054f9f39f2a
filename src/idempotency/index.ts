export { IdempotencyKey } from 'src/idempotency/idempotency-key.entity';
export { IdempotencyModule } from 'src/idempotency/idempotency.module';
export { IDEMPOTENCY_ERRORS, Idempotent } from 'src/idempotency/idempotent.decorator';
export {
  CurrentIdempotencyClaim,
  IdempotencyClaim,
  writeWithAnswer,
} from 'src/idempotency/idempotency-claim';
