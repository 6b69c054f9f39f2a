import { ApiProperty } from '@nestjs/swagger';
import { VerificationSummaryDto } from 'src/tasks/dto/task-verification.dto';
import type { Page } from 'src/common';
import { ISOLATION_MODES, type Isolation } from 'src/sessions';
import { INTERACTION_KINDS, type InteractionKind } from 'src/tasks/claude-interaction.entity';
import {
  STATUS_REASONS,
  TASK_PHASES,
  TaskStatus,
  type StatusReason,
  type TaskPhase,
} from 'src/tasks/task-status';
import {
  TEST_CASE_KINDS,
  TEST_CASE_STATUSES,
  type TestCaseKind,
  type TestCaseStatus,
} from 'src/tasks/test-case.entity';

const EXAMPLE_TIME = '2026-11-25T06:00:00.000Z';

/** What a task PAUSED `waiting_for_human` waits on. */
export class HumanWaitDto {
  @ApiProperty({
    type: String,
    nullable: true,
    description:
      "What the agent's last turn said: its question, or where it stopped short; null when that turn ended without a message",
    example: 'Should divide() throw on a zero divisor or return Infinity?',
  })
  question!: string | null;

  @ApiProperty({
    enum: ['answer_question', 'continue_stop_short'],
    description: 'The agent asked a question, or stopped short of finishing',
  })
  reason!: 'answer_question' | 'continue_stop_short';

  @ApiProperty({ format: 'date-time', example: EXAMPLE_TIME })
  since!: string;

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description:
      'When the simulated human answers if nobody has (human_timeout_seconds); null: never',
    example: null,
  })
  until!: string | null;
}

/** `waiting_for_human` on a task and on its status summary. */
function WaitingForHumanProperty(): PropertyDecorator {
  return ApiProperty({
    type: HumanWaitDto,
    nullable: true,
    description:
      'While the task waits for a person (PAUSED, waiting_for_human): the question; send a message to resume it. Null otherwise',
  });
}

export class TestCountsDto {
  @ApiProperty({ type: 'integer', example: 3 })
  passed!: number;

  @ApiProperty({ type: 'integer', example: 0 })
  failed!: number;

  @ApiProperty({ type: 'integer', example: 3 })
  total!: number;
}

/** A task as lists and `POST /api/v1/tasks` return it. */
export class TaskResponseDto {
  @ApiProperty({ format: 'uuid', example: '9b2e7c1a-5d4f-4e3b-8a6c-1f2d3e4a5b6c' })
  id!: string;

  @ApiProperty({ format: 'uuid', example: '3f1d2a4e-9a7b-4a51-9a0f-0c8d6f1e2b3c' })
  session_id!: string;

  @ApiProperty({ example: '/tmp/myproject' })
  project_path!: string;

  @ApiProperty({ example: 'Create a calculator function' })
  description!: string;

  @ApiProperty({ enum: TaskStatus, example: TaskStatus.Pending })
  status!: TaskStatus;

  @ApiProperty({ enum: STATUS_REASONS, nullable: true, example: 'created' })
  status_reason!: StatusReason | null;

  @ApiProperty({ enum: TASK_PHASES, nullable: true, example: 'queued' })
  phase!: TaskPhase | null;

  @ApiProperty({ type: 'integer', example: 0 })
  iteration!: number;

  @ApiProperty({ type: 'integer', example: 20 })
  max_iterations!: number;

  @ApiProperty({
    type: 'integer',
    example: 0,
    description:
      "The simulated human's interventions so far (what max_pauses bounds); a person's answers to a task waiting for one are not counted",
  })
  pause_count!: number;

  @ApiProperty({ type: 'integer', example: 5 })
  max_pauses!: number;

  @ApiProperty({ type: String, format: 'uuid', nullable: true, example: null })
  claude_session_id!: string | null;

  @ApiProperty({ type: String, nullable: true, example: null })
  result_summary!: string | null;

  @ApiProperty({ type: String, nullable: true, example: null })
  error_message!: string | null;

  @ApiProperty({ type: TestCountsDto })
  tests!: TestCountsDto;

  @ApiProperty({ example: 0 })
  cost_usd!: number;

  @ApiProperty({
    type: Number,
    nullable: true,
    description: 'Cost budget, USD (null: none); reaching it fails the task `budget_exceeded`',
    example: 10,
  })
  max_cost_usd!: number | null;

  @ApiProperty({
    type: String,
    format: 'uuid',
    nullable: true,
    description: 'The task this one retries; null once that task is deleted',
    example: null,
  })
  retry_of!: string | null;

  @ApiProperty({
    type: String,
    format: 'uuid',
    nullable: true,
    description:
      'The task that retries this one; null once that task is deleted (this one can then be retried again)',
    example: null,
  })
  retried_by!: string | null;

  @ApiProperty({ type: 'integer', example: 0 })
  input_tokens!: number;

  @ApiProperty({ type: 'integer', example: 0 })
  output_tokens!: number;

  @ApiProperty({
    type: 'integer',
    description: 'Times the task has been claimed by a worker',
    example: 0,
  })
  attempt!: number;

  @ApiProperty({ example: false })
  cancel_requested!: boolean;

  @ApiProperty({
    description: 'Its generated tests must fail or error at the base commit before it completes',
    example: true,
  })
  require_failing_tests!: boolean;

  @ApiProperty({
    description: 'Weakening existing tests does not block its completion',
    example: false,
  })
  allow_test_changes!: boolean;

  @ApiProperty({
    description:
      'False: it waits for a person when the agent asks a question or stops short, instead of the simulated human answering',
    example: true,
  })
  auto_respond!: boolean;

  @ApiProperty({
    type: 'integer',
    nullable: true,
    description:
      'How long it waits for a person before the simulated human answers; null: no limit',
    example: null,
  })
  human_timeout_seconds!: number | null;

  @WaitingForHumanProperty()
  waiting_for_human!: HumanWaitDto | null;

  @ApiProperty({
    enum: ISOLATION_MODES,
    example: 'worktree',
    description:
      '`worktree`: the task works in its own git worktree and branch; `none`: in the project directory',
  })
  isolation!: Isolation;

  @ApiProperty({
    type: String,
    nullable: true,
    example: null,
    description:
      'The ref the task starts from, as asked for; null: the commit checked out when it was created',
  })
  base_ref!: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    example: '64e1b21df1c67110aa908f16852723e32ad6f436',
    description: 'The commit the workspace starts from; the diff is against it',
  })
  base_commit!: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    example: 'main',
    description:
      'Where a merge goes by default: the local branch base_ref names, or the branch checked out when the task was created',
  })
  target_branch!: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    example: 'cta/9b2e7c1a-create-a-calculator-function',
    description:
      "The task's branch (once its workspace exists); it stays after the workspace is removed",
  })
  branch!: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    example: '/srv/cta/data/workspaces/9b2e7c1a-5d4f-4e3b-8a6c-1f2d3e4a5b6c',
    description: "The task's worktree, where the agent and the tests run",
  })
  workspace_path!: string | null;

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    example: null,
    description:
      'When the workspace was removed (WORKSPACE_RETENTION_HOURS after the task ended, or when deleted)',
  })
  workspace_removed_at!: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    example: null,
    description:
      "The branch's commit with the task's work, committed when the task ended (COMPLETED; FAILED or CANCELLED keep their uncommitted work this way too)",
  })
  head_commit!: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: null })
  merged_at!: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    example: null,
    description:
      "The target branch's commit after the merge (a merge or squash commit, or head_commit itself after a fast-forward)",
  })
  merge_commit!: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    example: null,
    description: 'The branch merged into',
  })
  merged_into!: string | null;

  @ApiProperty({ format: 'date-time', example: EXAMPLE_TIME })
  created_at!: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: null })
  started_at!: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: null })
  completed_at!: string | null;

  @ApiProperty({ format: 'date-time', example: EXAMPLE_TIME })
  updated_at!: string;
}

export class InteractionResponseDto {
  @ApiProperty({ type: 'integer', description: 'Monotonic; doubles as the event id', example: 1 })
  id!: number;

  @ApiProperty({ enum: INTERACTION_KINDS, example: 'prompt' })
  kind!: InteractionKind;

  @ApiProperty({ type: 'integer', example: 1 })
  iteration!: number;

  @ApiProperty({ example: 'Create a calculator function' })
  content!: string;

  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true, example: null })
  data!: Record<string, unknown> | null;

  @ApiProperty({ type: Number, nullable: true, example: null })
  cost_usd!: number | null;

  @ApiProperty({ type: 'integer', nullable: true, example: null })
  input_tokens!: number | null;

  @ApiProperty({ type: 'integer', nullable: true, example: null })
  output_tokens!: number | null;

  @ApiProperty({ format: 'date-time', example: EXAMPLE_TIME })
  created_at!: string;
}

export class TestCaseResponseDto {
  @ApiProperty({ type: 'integer', example: 1 })
  id!: number;

  @ApiProperty({ type: 'integer', example: 1 })
  iteration!: number;

  @ApiProperty({ enum: TEST_CASE_KINDS, example: 'generated' })
  kind!: TestCaseKind;

  @ApiProperty({ example: 'adds two numbers' })
  name!: string;

  @ApiProperty({ type: String, nullable: true, example: 'calculator.test.js' })
  file_path!: string | null;

  @ApiProperty({ enum: TEST_CASE_STATUSES, example: 'passed' })
  status!: TestCaseStatus;

  @ApiProperty({ type: 'integer', example: 12 })
  duration_ms!: number;

  @ApiProperty({ description: 'Captured output (capped)', example: '' })
  output!: string;

  @ApiProperty({ format: 'date-time', example: EXAMPLE_TIME })
  created_at!: string;
}

/** `GET /api/v1/tasks/{id}`: the task with its conversation and tests. */
export class TaskDetailResponseDto extends TaskResponseDto {
  @ApiProperty({ type: String, nullable: true, example: null })
  last_agent_message!: string | null;

  @ApiProperty({
    type: [InteractionResponseDto],
    description:
      'The latest 500 interactions, ordered by id; all of them through GET /api/v1/tasks/{id}/interactions',
  })
  interactions!: InteractionResponseDto[];

  @ApiProperty({
    type: 'integer',
    description: 'Interactions stored for the task in all',
    example: 12,
  })
  interactions_total!: number;

  @ApiProperty({
    type: [TestCaseResponseDto],
    description:
      'The latest 100 test cases, ordered by id; all of them through GET /api/v1/tasks/{id}/test-cases',
  })
  test_cases!: TestCaseResponseDto[];

  @ApiProperty({
    type: 'integer',
    description: 'Test cases stored for the task in all',
    example: 3,
  })
  test_cases_total!: number;

  @ApiProperty({
    type: VerificationSummaryDto,
    nullable: true,
    description:
      'The verification of the latest test round, in short (null before any); the evidence in full through GET /api/v1/tasks/{id}/verification',
  })
  verification!: VerificationSummaryDto | null;
}

/** `GET /api/v1/tasks/{id}/status`: a small summary for polling. */
export class TaskStatusResponseDto {
  @ApiProperty({ format: 'uuid', example: '9b2e7c1a-5d4f-4e3b-8a6c-1f2d3e4a5b6c' })
  id!: string;

  @ApiProperty({ enum: TaskStatus, example: TaskStatus.Running })
  status!: TaskStatus;

  @ApiProperty({ enum: STATUS_REASONS, nullable: true, example: 'agent_turn' })
  status_reason!: StatusReason | null;

  @ApiProperty({ enum: TASK_PHASES, nullable: true, example: 'agent_turn' })
  phase!: TaskPhase | null;

  @ApiProperty({ type: 'integer', example: 2 })
  iteration!: number;

  @ApiProperty({ type: 'integer', example: 20 })
  max_iterations!: number;

  @ApiProperty({
    type: 'integer',
    example: 0,
    description:
      "The simulated human's interventions so far (what max_pauses bounds); a person's answers to a task waiting for one are not counted",
  })
  pause_count!: number;

  @ApiProperty({ type: 'integer', example: 5 })
  max_pauses!: number;

  @ApiProperty({
    type: String,
    nullable: true,
    example: 'I added calculator.js with add/sub/mul/div.',
  })
  last_agent_message!: string | null;

  @WaitingForHumanProperty()
  waiting_for_human!: HumanWaitDto | null;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Why the task failed or was cancelled; null otherwise',
    example: null,
  })
  error_message!: string | null;

  @ApiProperty({ type: TestCountsDto })
  tests!: TestCountsDto;

  @ApiProperty({ example: 0.0123 })
  cost_usd!: number;

  @ApiProperty({ type: 'integer', example: 1200 })
  input_tokens!: number;

  @ApiProperty({ type: 'integer', example: 350 })
  output_tokens!: number;

  @ApiProperty({ format: 'date-time', example: EXAMPLE_TIME })
  created_at!: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: EXAMPLE_TIME })
  started_at!: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: null })
  completed_at!: string | null;

  @ApiProperty({ format: 'date-time', example: EXAMPLE_TIME })
  updated_at!: string;
}

export class TaskPageDto implements Page<TaskResponseDto> {
  @ApiProperty({ type: [TaskResponseDto] })
  items!: TaskResponseDto[];

  @ApiProperty({ type: 'integer', example: 1 })
  total!: number;

  @ApiProperty({ type: 'integer', example: 20 })
  limit!: number;

  @ApiProperty({ type: 'integer', example: 0 })
  offset!: number;
}
