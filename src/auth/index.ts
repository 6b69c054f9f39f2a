export { ApiAccessGuard } from 'src/auth/api-access.guard';
export { ApiKey } from 'src/auth/api-key.entity';
export { ApiKeysService } from 'src/auth/api-keys.service';
export { AuthModule } from 'src/auth/auth.module';
export { KeyRevocations } from 'src/auth/key-revocations';
export type { RevocationListener } from 'src/auth/key-revocations';
export { decideBind, isLoopback } from 'src/auth/bind-policy';
export type { BindDecision } from 'src/auth/bind-policy';
