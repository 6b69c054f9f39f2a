import { ApiProperty } from '@nestjs/swagger';
import {
  InteractionResponseDto,
  STATUS_REASONS,
  type StatusReason,
  TaskStatus,
  TERMINAL_STATUSES,
} from 'src/tasks';

/** A `message` of `GET /api/v1/events`: an interaction, with the id of its task. */
export class InteractionEventDto extends InteractionResponseDto {
  @ApiProperty({ format: 'uuid', description: 'The task the interaction is of' })
  task_id!: string;
}

/** The `end` frame of a task's stream, its last. */
export class TaskStreamEndDto {
  @ApiProperty({ format: 'uuid' })
  task_id!: string;

  @ApiProperty({
    enum: TERMINAL_STATUSES,
    nullable: true,
    description: "The task's final status; null when the task was deleted",
    example: TaskStatus.Completed,
  })
  status!: TaskStatus | null;

  @ApiProperty({ enum: STATUS_REASONS, nullable: true, example: 'verified' })
  status_reason!: StatusReason | null;
}

/** Why the server closed a stream for good: the `code` of its `closed` frame. */
const STREAM_CLOSED_CODES = [
  'key_revoked',
  'key_expired',
  'key_required',
  'session_deleted',
] as const;

/**
 * The `closed` frame of a stream the server closed before its end, for a reason reconnecting does
 * not mend.
 */
export class StreamClosedDto {
  @ApiProperty({
    enum: STREAM_CLOSED_CODES,
    description:
      'key_revoked, key_expired: the API key of the stream may no longer be used; key_required: the stream, opened without a key, is closed once keys are required; session_deleted: the session of an `/events?session_id=` stream was deleted',
    example: 'key_revoked',
  })
  code!: (typeof STREAM_CLOSED_CODES)[number];

  @ApiProperty({ example: 'The API key of this stream has been revoked: the stream is closed' })
  message!: string;
}
