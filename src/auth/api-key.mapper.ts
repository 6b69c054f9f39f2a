import { ApiKey, keyScopes } from 'src/auth/api-key.entity';
import { ApiKeyResponseDto } from 'src/auth/dto/api-key-response.dto';

const iso = (date: Date | null): string | null => (date ? date.toISOString() : null);

export function toApiKeyResponse(key: ApiKey): ApiKeyResponseDto {
  return {
    id: key.id,
    name: key.name,
    prefix: key.prefix,
    scopes: keyScopes(key),
    created_at: key.createdAt.toISOString(),
    expires_at: iso(key.expiresAt),
    revoked_at: iso(key.revokedAt),
    last_used_at: iso(key.lastUsedAt),
  };
}
