import { Controller, Get, Headers, Param, Query, Res } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { CurrentPrincipal, ownerFilter, Principal, RequireScope } from 'src/access';
import { ApiKeysService } from 'src/auth';
import { API_PREFIX, ApiErrorResponses, Clock, ErrorCode, UuidParamPipe } from 'src/common';
import { AppConfig } from 'src/config';
import { SessionsService } from 'src/sessions';
import { InteractionResponseDto, TasksService } from 'src/tasks';
import {
  EventStreamQueryDto,
  TaskEventStreamQueryDto,
} from 'src/events/dto/event-stream-query.dto';
import {
  InteractionEventDto,
  StreamClosedDto,
  TaskStreamEndDto,
} from 'src/events/dto/stream-event.dto';
import { ApiEventStream } from 'src/events/api-event-stream.decorator';
import { TailClosing } from 'src/events/event-tail';
import { streamStart } from 'src/events/last-event-id';
import { TaskEventStreams } from 'src/events/task-event-streams.service';

/**
 * How often an open stream asks whether its key was revoked or expired (and one session's stream,
 * whether the session was deleted), at most, ms.
 */
const RECHECK_MS = 1000;

/** What the `closed` event of one session's stream says once the session was deleted. */
const SESSION_DELETED: StreamClosedDto = {
  code: 'session_deleted',
  message: 'The session of this stream has been deleted: the stream is closed',
};

/** What the `closed` event of a stream says when its key may no longer be used. */
const KEY_CLOSINGS: Record<'revoked' | 'expired', StreamClosedDto> = {
  revoked: {
    code: 'key_revoked',
    message: 'The API key of this stream has been revoked: the stream is closed',
  },
  expired: {
    code: 'key_expired',
    message: 'The API key of this stream has expired: the stream is closed',
  },
};

/**
 * What the `closed` event of a stream opened without a key says once keys are required (the first
 * key was created): its caller could not open it again without one.
 */
const KEY_REQUIRED: StreamClosedDto = {
  code: 'key_required',
  message: 'API keys are now required: the stream, opened without one, is closed',
};

const LAST_EVENT_ID = {
  name: 'Last-Event-ID',
  required: false,
  description:
    'The id of the last event the client received (sent by EventSource on reconnect): a non-negative integer, anything else is 400 `validation_failed`. An id past the newest event stored (a database started again since) is taken as the newest: the stream sends what is stored next.',
  schema: { type: 'string', pattern: '^\\d+$' },
};

/** What a stream's `closed` frame may say, as its 200 response describes it. */
const CLOSED =
  'A stream whose API key is revoked or expires while it is open ends with `event: closed` (`StreamClosedDto`) instead, `key_revoked` or `key_expired`: reconnecting with that key would be refused; so does a stream opened without a key once keys are required (`key_required`: the first key was created)';

const TASK_STREAM =
  "A `text/event-stream` (`x-sse-events` names each event's data schema): a `message` (no `event:` line) for each interaction, `id:` its id, `data:` its JSON on one line (`InteractionResponseDto`); `: keep-alive` comments; and once the task is finished `event: end` with its final status (`TaskStreamEndDto`), the last frame before the stream closes. " +
  `${CLOSED}.`;

const GLOBAL_STREAM =
  "A `text/event-stream` (`x-sse-events` names each event's data schema): a `message` (no `event:` line) for each interaction of the tasks it shows, `id:` its id, `data:` its JSON with its `task_id` on one line (`InteractionEventDto`); `: keep-alive` comments. " +
  `${CLOSED}; so does a stream of one session (\`?session_id=\`) once the session is deleted (\`session_deleted\`).`;

/** Whose a stream is, for MAX_EVENT_STREAMS_PER_KEY: its key, or without one its kind (`local`). */
function holderOf(principal: Principal): string {
  return principal.keyId ?? principal.kind;
}

/** Live event streams (server-sent events) of one task, or of every task the key may see. */
@ApiTags('events')
@Controller(API_PREFIX)
export class TaskEventsController {
  constructor(
    private readonly streams: TaskEventStreams,
    private readonly tasks: TasksService,
    private readonly sessions: SessionsService,
    private readonly keys: ApiKeysService,
    private readonly clock: Clock,
    private readonly config: AppConfig,
  ) {}

  @Get('tasks/:id/events')
  @RequireScope('tasks:read')
  @ApiOperation({
    operationId: 'events_followTask',
    summary: "Follow a task's events live (server-sent events)",
    description:
      'Every stored event after `Last-Event-ID` (or `after_id`), in id order, then the live ones as they are stored, with no gap and no duplicate; ends with `event: end` once the task is finished. Keep-alive comments every SSE_KEEPALIVE_SECONDS.',
  })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiHeader(LAST_EVENT_ID)
  @ApiEventStream(TASK_STREAM, {
    message: InteractionResponseDto,
    end: TaskStreamEndDto,
    closed: StreamClosedDto,
  })
  @ApiErrorResponses('read', ErrorCode.InvalidId, ErrorCode.TaskNotFound, ErrorCode.TooManyStreams)
  async followTask(
    @Param('id', UuidParamPipe) id: string,
    @Query() query: TaskEventStreamQueryDto,
    @Headers('last-event-id') lastEventId: string | undefined,
    @CurrentPrincipal() principal: Principal,
    @Res() res: Response,
  ): Promise<void> {
    const afterId = streamStart(lastEventId, query.after_id, 0);
    await this.tasks.findOne(id);
    await this.streams.followTask(id, afterId, res, holderOf(principal), this.closing(principal));
  }

  @Get('events')
  @RequireScope('tasks:read')
  @ApiOperation({
    operationId: 'events_followAll',
    summary: 'Follow the events of every task the key may see (server-sent events)',
    description:
      "A dashboard's stream: the events of the key's tasks (every task for admins), optionally of one session, each with its `task_id`, from now on (or after `Last-Event-ID` / `after_id`). It never ends by itself.",
  })
  @ApiHeader(LAST_EVENT_ID)
  @ApiEventStream(GLOBAL_STREAM, { message: InteractionEventDto, closed: StreamClosedDto })
  @ApiErrorResponses('read', ErrorCode.SessionNotFound, ErrorCode.TooManyStreams)
  async followAll(
    @Query() query: EventStreamQueryDto,
    @Headers('last-event-id') lastEventId: string | undefined,
    @CurrentPrincipal() principal: Principal,
    @Res() res: Response,
  ): Promise<void> {
    const afterId = streamStart(lastEventId, query.after_id, null);
    const sessionId = query.session_id?.toLowerCase();
    if (sessionId !== undefined) await this.sessions.findVisible(sessionId, principal);
    await this.streams.followAll(
      { ownerKeyId: ownerFilter(principal), sessionId },
      afterId,
      res,
      holderOf(principal),
      this.closing(principal, sessionId),
    );
  }

  /**
   * A stream opened with a key lasts while the key may be used: once it is revoked or expired,
   * the stream is closed with a `closed` event (`key_revoked`, `key_expired`). One opened without
   * a key (keys not required) lasts while keys are not required (`key_required`). One session's
   * stream lasts while the session exists (`session_deleted`). Asked of the database at most every
   * RECHECK_MS, however often the stream reads, in turn with the streams' reads.
   */
  private closing(principal: Principal, sessionId?: string): () => Promise<TailClosing | null> {
    const keyId = principal.keyId;
    const check = async (): Promise<TailClosing | null> => {
      if (principal.kind === 'local' && (await this.keysRequired())) return KEY_REQUIRED;
      const refusal = keyId === null ? null : await this.keys.refusal(keyId);
      if (refusal !== null) return KEY_CLOSINGS[refusal];
      if (sessionId !== undefined && (await this.sessions.ownerOf(sessionId)) === null) {
        return SESSION_DELETED;
      }
      return null;
    };
    let closing: TailClosing | null = null;
    let checkedAtMs = -Infinity;
    return async () => {
      const now = this.clock.nowMs();
      if (now - checkedAtMs >= RECHECK_MS) {
        closing = await this.streams.streamRead(check);
        checkedAtMs = now;
      }
      return closing;
    };
  }

  private keysRequired(): Promise<boolean> {
    return this.keys.required(this.config.AUTH_REQUIRED);
  }
}
