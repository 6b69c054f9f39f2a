import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { CurrentPrincipal, Principal, RequireScope } from 'src/access';
import { Audited } from 'src/audit';
import {
  API_PREFIX,
  ApiErrorResponses,
  Clock,
  DomainError,
  ErrorCode,
  PaginationQueryDto,
  UuidParamPipe,
} from 'src/common';
import { toApiKeyResponse } from 'src/auth/api-key.mapper';
import { ApiKeysService } from 'src/auth/api-keys.service';
import { CreateApiKeyDto } from 'src/auth/dto/create-api-key.dto';
import { ApiKeyCreatedResponseDto, ApiKeyPageDto } from 'src/auth/dto/api-key-response.dto';

@ApiTags('api-keys')
@Controller(`${API_PREFIX}/api-keys`)
@RequireScope('admin')
export class ApiKeysController {
  constructor(
    private readonly keys: ApiKeysService,
    private readonly clock: Clock,
  ) {}

  @Post()
  @Audited('api_key.create', 'api_key', ['name', 'scopes'])
  @ApiOperation({
    operationId: 'apiKeys_create',
    summary: 'Create an API key (admin keys only); the key is in this answer and nowhere else',
  })
  @ApiCreatedResponse({ type: ApiKeyCreatedResponseDto })
  @ApiErrorResponses('write', ErrorCode.Forbidden)
  async create(
    @Body() dto: CreateApiKeyDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<ApiKeyCreatedResponseDto> {
    const expiresAt = dto.expires_at ? new Date(dto.expires_at) : null;
    if (expiresAt !== null && expiresAt.getTime() <= this.clock.nowMs()) {
      throw new DomainError(
        ErrorCode.ValidationFailed,
        'Invalid request: expires_at: expires_at must be in the future',
        { errors: [{ field: 'expires_at', errors: ['expires_at must be in the future'] }] },
      );
    }
    const { apiKey, key } = await this.keys.create({
      name: dto.name,
      scopes: dto.scopes,
      expiresAt,
      createdByKeyId: principal.keyId,
    });
    return { ...toApiKeyResponse(apiKey), key };
  }

  @Get()
  @ApiOperation({
    operationId: 'apiKeys_list',
    summary: 'List API keys, newest first (admin keys only; never the keys themselves)',
  })
  @ApiOkResponse({ type: ApiKeyPageDto })
  @ApiErrorResponses('read', ErrorCode.Forbidden)
  async list(@Query() query: PaginationQueryDto): Promise<ApiKeyPageDto> {
    const [items, total] = await this.keys.list(query);
    return { items: items.map(toApiKeyResponse), total, limit: query.limit, offset: query.offset };
  }

  @Delete(':id')
  @HttpCode(204)
  @Audited('api_key.revoke', 'api_key')
  @ApiOperation({
    operationId: 'apiKeys_revoke',
    summary:
      'Revoke an API key (admin keys only): every later request with it is 401, and its tasks are cancelled',
    description:
      'Every task the key owns that has not ended is cancelled before the answer: a queued task, or ' +
      'one waiting for a person, is CANCELLED at once with `status_reason` `owner_key_revoked`; a ' +
      'running one has its agent or test processes ended and becomes CANCELLED `owner_key_revoked` ' +
      'within seconds. A task of a key revoked or expired otherwise is not started, and is stopped ' +
      'before its next agent turn or test round (`owner_key_revoked`, `owner_key_expired`). ' +
      'Revoking a revoked key again is harmless.',
  })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiNoContentResponse({
    description: "Revoked; the key's queued tasks cancelled, its running ones stopping",
  })
  @ApiErrorResponses('write', ErrorCode.InvalidId, ErrorCode.Forbidden, ErrorCode.ApiKeyNotFound)
  async revoke(@Param('id', UuidParamPipe) id: string): Promise<void> {
    await this.keys.revoke(id);
  }
}
