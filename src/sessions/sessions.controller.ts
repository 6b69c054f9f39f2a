import { Body, Controller, Get, Param, Post, Query } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiCreatedResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { API_PREFIX, ApiErrorResponses, PaginationQueryDto, UuidParamPipe } from 'src/common';
import { Idempotent } from 'src/idempotency';
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
  @ApiOperation({ summary: 'Create a session for a project directory' })
  @ApiCreatedResponse({ type: SessionResponseDto })
  @ApiErrorResponses(400, 403, 413, 415)
  async create(@Body() dto: CreateSessionDto): Promise<SessionResponseDto> {
    return toSessionResponse(await this.sessions.create(dto));
  }

  @Get()
  @ApiOperation({ summary: 'List sessions, newest first' })
  @ApiOkResponse({ type: SessionPageDto })
  @ApiErrorResponses(400)
  async list(@Query() query: PaginationQueryDto): Promise<SessionPageDto> {
    const [items, total] = await this.sessions.list(query);
    return { items: items.map(toSessionResponse), total, limit: query.limit, offset: query.offset };
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get session details' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiOkResponse({ type: SessionResponseDto })
  @ApiErrorResponses(400, 404)
  async findOne(@Param('id', UuidParamPipe) id: string): Promise<SessionResponseDto> {
    return toSessionResponse(await this.sessions.findOne(id));
  }
}
