import { Body, Controller, Get, Param, Post, Query } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiCreatedResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { CurrentPrincipal, Principal, RequireScope } from 'src/access';
import { Audited } from 'src/audit';
import {
  API_PREFIX,
  ApiErrorResponses,
  ErrorCode,
  PaginationQueryDto,
  UuidParamPipe,
} from 'src/common';
import {
  CurrentIdempotencyClaim,
  IDEMPOTENCY_ERRORS,
  IdempotencyClaim,
  Idempotent,
} from 'src/idempotency';
import { CreateSessionDto } from 'src/sessions/dto/create-session.dto';
import { SessionPageDto, SessionResponseDto } from 'src/sessions/dto/session-response.dto';
import { toSessionResponse } from 'src/sessions/session.mapper';
import { SessionsService } from 'src/sessions/sessions.service';

@ApiTags('sessions')
@Controller(`${API_PREFIX}/sessions`)
export class SessionsController {
  constructor(private readonly sessions: SessionsService) {}

  @Post()
  @Idempotent()
  @RequireScope('tasks:write')
  @Audited('session.create', 'session', ['project_path'])
  @ApiOperation({
    operationId: 'sessions_create',
    summary: 'Create a session for a project directory',
    description:
      'The session (and every task in it) belongs to the calling key. Keys that are not admin may name only programs in ALLOWED_COMMANDS as commands, never a shell, `env` or inline code (403 `command_not_allowed`).',
  })
  @ApiCreatedResponse({ type: SessionResponseDto })
  @ApiErrorResponses(
    'write',
    ErrorCode.Forbidden,
    ErrorCode.ProjectPathInvalid,
    ErrorCode.CommandNotAllowed,
    ErrorCode.ProjectPathNotAllowed,
    ...IDEMPOTENCY_ERRORS,
  )
  async create(
    @Body() dto: CreateSessionDto,
    @CurrentPrincipal() principal: Principal,
    @CurrentIdempotencyClaim() claim: IdempotencyClaim | null,
  ): Promise<SessionResponseDto> {
    return toSessionResponse(await this.sessions.create(dto, principal, claim));
  }

  @Get()
  @RequireScope('tasks:read')
  @ApiOperation({
    operationId: 'sessions_list',
    summary: "List sessions, newest first (the key's own; every one for admins)",
  })
  @ApiOkResponse({ type: SessionPageDto })
  @ApiErrorResponses('read')
  async list(
    @Query() query: PaginationQueryDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<SessionPageDto> {
    const [items, total] = await this.sessions.list(query, principal);
    return { items: items.map(toSessionResponse), total, limit: query.limit, offset: query.offset };
  }

  @Get(':id')
  @RequireScope('tasks:read')
  @ApiOperation({ operationId: 'sessions_findOne', summary: 'Get session details' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiOkResponse({ type: SessionResponseDto })
  @ApiErrorResponses('read', ErrorCode.InvalidId, ErrorCode.SessionNotFound)
  async findOne(@Param('id', UuidParamPipe) id: string): Promise<SessionResponseDto> {
    return toSessionResponse(await this.sessions.findOne(id));
  }
}
