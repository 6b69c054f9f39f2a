export { ApiAccessGuard } from 'src/auth/api-access.guard';
export { ApiKey } from 'src/auth/api-key.entity';
export { ApiKeysService } from 'src/auth/api-keys.service';
export { AuthModule } from 'src/auth/auth.module';
export { decideBind, isLoopback } from 'src/auth/bind-policy';
export type { BindDecision } from 'src/auth/bind-policy';
