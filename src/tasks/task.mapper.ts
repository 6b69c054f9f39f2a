import { ClaudeInteraction } from 'src/tasks/claude-interaction.entity';
import {
  HumanWaitDto,
  InteractionResponseDto,
  TaskDetailResponseDto,
  TaskResponseDto,
  TaskStatusResponseDto,
  TestCaseResponseDto,
  TestCountsDto,
} from 'src/tasks/dto/task-response.dto';
import { WorkspaceDiff } from 'src/workspaces';
import { TaskDiffResponseDto } from 'src/tasks/dto/task-workspace.dto';
import { Task } from 'src/tasks/task.entity';
import { TaskStatus } from 'src/tasks/task-status';
import { TestCase } from 'src/tasks/test-case.entity';
import { toVerificationSummary } from 'src/tasks/verification.mapper';

const iso = (date: Date | null): string | null => (date ? date.toISOString() : null);

/** What the task waits on while it waits for a person; null when it does not. */
function waitingForHuman(
  task: Pick<Task, 'status' | 'statusReason' | 'humanWait'>,
): HumanWaitDto | null {
  const wait = task.humanWait;
  if (task.status !== TaskStatus.Paused || task.statusReason !== 'waiting_for_human' || !wait) {
    return null;
  }
  return { question: wait.question, reason: wait.reason, since: wait.since, until: wait.until };
}

function testCounts(task: Pick<Task, 'testsPassed' | 'testsFailed' | 'testsTotal'>): TestCountsDto {
  return { passed: task.testsPassed, failed: task.testsFailed, total: task.testsTotal };
}

export function toTaskResponse(task: Task): TaskResponseDto {
  return {
    id: task.id,
    session_id: task.sessionId,
    project_path: task.projectPath,
    description: task.description,
    status: task.status,
    status_reason: task.statusReason,
    phase: task.phase,
    iteration: task.iteration,
    max_iterations: task.maxIterations,
    pause_count: task.pauseCount,
    max_pauses: task.maxPauses,
    claude_session_id: task.claudeSessionId,
    result_summary: task.resultSummary,
    error_message: task.errorMessage,
    tests: testCounts(task),
    cost_usd: task.costUsd,
    max_cost_usd: task.maxCostUsd,
    retry_of: task.retryOf,
    retried_by: task.retriedBy,
    input_tokens: task.inputTokens,
    output_tokens: task.outputTokens,
    attempt: task.attempt,
    cancel_requested: task.cancelRequested,
    require_failing_tests: task.requireFailingTests,
    allow_test_changes: task.allowTestChanges,
    auto_respond: task.autoRespond,
    human_timeout_seconds: task.humanTimeoutSeconds,
    waiting_for_human: waitingForHuman(task),
    isolation: task.isolation,
    base_ref: task.baseRef,
    base_commit: task.baseCommit,
    target_branch: task.targetBranch,
    branch: task.branch,
    workspace_path: task.workspacePath,
    workspace_removed_at: iso(task.workspaceRemovedAt),
    head_commit: task.headCommit,
    merged_at: iso(task.mergedAt),
    merge_commit: task.mergeCommit,
    merged_into: task.mergedInto,
    created_at: task.createdAt.toISOString(),
    started_at: iso(task.startedAt),
    completed_at: iso(task.completedAt),
    updated_at: task.updatedAt.toISOString(),
  };
}

export function toInteractionResponse(interaction: ClaudeInteraction): InteractionResponseDto {
  return {
    id: interaction.id,
    kind: interaction.kind,
    iteration: interaction.iteration,
    content: interaction.content,
    data: interaction.data,
    cost_usd: interaction.costUsd,
    input_tokens: interaction.inputTokens,
    output_tokens: interaction.outputTokens,
    created_at: interaction.createdAt.toISOString(),
  };
}

export function toTestCaseResponse(testCase: TestCase): TestCaseResponseDto {
  return {
    id: testCase.id,
    iteration: testCase.iteration,
    kind: testCase.kind,
    name: testCase.name,
    file_path: testCase.filePath,
    status: testCase.status,
    duration_ms: testCase.durationMs,
    output: testCase.output,
    created_at: testCase.createdAt.toISOString(),
  };
}

export function toTaskDetailResponse(
  task: Task,
  interactions: ClaudeInteraction[],
  interactionsTotal: number,
  testCases: { latest: TestCase[]; total: number },
): TaskDetailResponseDto {
  return {
    ...toTaskResponse(task),
    last_agent_message: task.lastAgentMessage,
    interactions: interactions.map(toInteractionResponse),
    interactions_total: interactionsTotal,
    test_cases: testCases.latest.map(toTestCaseResponse),
    test_cases_total: testCases.total,
    verification: toVerificationSummary(task),
  };
}

/** The columns the status summary is made of: all `GET /tasks/{id}/status` reads. */
export const TASK_STATUS_FIELDS = [
  'id',
  'status',
  'statusReason',
  'phase',
  'iteration',
  'maxIterations',
  'pauseCount',
  'maxPauses',
  'lastAgentMessage',
  'humanWait',
  'errorMessage',
  'testsPassed',
  'testsFailed',
  'testsTotal',
  'costUsd',
  'inputTokens',
  'outputTokens',
  'createdAt',
  'startedAt',
  'completedAt',
  'updatedAt',
] as const satisfies readonly (keyof Task)[];

export type TaskStatusRow = Pick<Task, (typeof TASK_STATUS_FIELDS)[number]>;

/** The status summary's timestamps. */
export type TaskStatusTimestamp = 'createdAt' | 'startedAt' | 'completedAt' | 'updatedAt';

/** A status summary's columns with its timestamps already in ISO 8601 form (UTC, milliseconds). */
export type TaskStatusValues = Omit<TaskStatusRow, TaskStatusTimestamp> &
  Record<'createdAt' | 'updatedAt', string> &
  Record<'startedAt' | 'completedAt', string | null>;

export function toTaskStatusResponse(task: TaskStatusRow): TaskStatusResponseDto {
  return statusResponseOf({
    ...task,
    createdAt: task.createdAt.toISOString(),
    startedAt: iso(task.startedAt),
    completedAt: iso(task.completedAt),
    updatedAt: task.updatedAt.toISOString(),
  });
}

/** The status summary of a task whose timestamps are ISO text already (`TaskStatusSummaries`). */
export function statusResponseOf(task: TaskStatusValues): TaskStatusResponseDto {
  return {
    id: task.id,
    status: task.status,
    status_reason: task.statusReason,
    phase: task.phase,
    iteration: task.iteration,
    max_iterations: task.maxIterations,
    pause_count: task.pauseCount,
    max_pauses: task.maxPauses,
    last_agent_message: task.lastAgentMessage,
    waiting_for_human: waitingForHuman(task),
    error_message: task.errorMessage,
    tests: testCounts(task),
    cost_usd: task.costUsd,
    input_tokens: task.inputTokens,
    output_tokens: task.outputTokens,
    created_at: task.createdAt,
    started_at: task.startedAt,
    completed_at: task.completedAt,
    updated_at: task.updatedAt,
  };
}

export function toTaskDiffResponse(
  task: Task,
  diff: WorkspaceDiff,
  live: boolean,
): TaskDiffResponseDto {
  return {
    task_id: task.id,
    base_commit: diff.baseCommit,
    head_commit: diff.headCommit,
    live,
    files: diff.files.map((f) => ({
      path: f.path,
      old_path: f.oldPath,
      status: f.status,
      additions: f.additions,
      deletions: f.deletions,
      binary: f.binary,
    })),
    additions: diff.additions,
    deletions: diff.deletions,
    patch: diff.patch.toString('utf8'),
    truncated: diff.truncated,
    omitted_files: diff.omittedFiles,
    note: diff.note,
  };
}
