import { ClaudeInteraction } from 'src/tasks/claude-interaction.entity';
import { toTaskDetailResponse, toTaskResponse, toTaskStatusResponse } from 'src/tasks/task.mapper';
import { TaskStatus } from 'src/tasks/task-status';
import { Task } from 'src/tasks/task.entity';
import { TestCase } from 'src/tasks/test-case.entity';
import { Session } from 'src/sessions';

const created = new Date('2026-11-25T06:00:00.123Z');
const started = new Date('2026-11-25T06:00:01.000Z');

function task(over: Partial<Task> = {}): Task {
  return Object.assign(new Task(), {
    id: 't1',
    sessionId: 's1',
    session: Object.assign(new Session(), { id: 's1' }),
    projectPath: '/p',
    description: 'd',
    status: TaskStatus.Running,
    statusReason: 'agent_turn',
    phase: 'agent_turn',
    iteration: 2,
    pauseCount: 1,
    maxIterations: 20,
    maxPauses: 5,
    claudeSessionId: 'c1',
    resultSummary: null,
    errorMessage: null,
    lastAgentMessage: 'hello',
    testsPassed: 3,
    testsFailed: 1,
    testsTotal: 4,
    costUsd: 0.5,
    maxCostUsd: 2,
    ownerKeyId: 'k1',
    inputTokens: 10,
    outputTokens: 20,
    attempt: 1,
    leaseOwner: 'host:1',
    leaseExpiresAt: started,
    cancelRequested: false,
    processGroupId: 4242,
    isolation: 'worktree',
    baseRef: 'main',
    baseCommit: 'b'.repeat(40),
    targetBranch: 'main',
    gitDir: '/repo/.git',
    branch: 'cta/t1-d',
    workspacePath: '/w/t1',
    workspaceRemovedAt: null,
    headCommit: null,
    mergedAt: null,
    mergeCommit: null,
    mergedInto: null,
    createdAt: created,
    startedAt: started,
    completedAt: null,
    updatedAt: started,
    retryOf: null,
    retriedBy: null,
    requireFailingTests: true,
    allowTestChanges: false,
    autoRespond: true,
    humanTimeoutSeconds: null,
    humanWait: null,
    ...over,
  });
}

describe('task mappers', () => {
  it('maps a task to snake_case without internal queue fields or relations', () => {
    const body = toTaskResponse(task());
    expect(body).toEqual({
      id: 't1',
      session_id: 's1',
      project_path: '/p',
      description: 'd',
      status: 'RUNNING',
      status_reason: 'agent_turn',
      phase: 'agent_turn',
      iteration: 2,
      max_iterations: 20,
      pause_count: 1,
      max_pauses: 5,
      claude_session_id: 'c1',
      result_summary: null,
      error_message: null,
      tests: { passed: 3, failed: 1, total: 4 },
      cost_usd: 0.5,
      max_cost_usd: 2,
      retry_of: null,
      retried_by: null,
      require_failing_tests: true,
      allow_test_changes: false,
      auto_respond: true,
      human_timeout_seconds: null,
      waiting_for_human: null,
      input_tokens: 10,
      output_tokens: 20,
      attempt: 1,
      cancel_requested: false,
      isolation: 'worktree',
      base_ref: 'main',
      base_commit: 'b'.repeat(40),
      target_branch: 'main',
      branch: 'cta/t1-d',
      workspace_path: '/w/t1',
      workspace_removed_at: null,
      head_commit: null,
      merged_at: null,
      merge_commit: null,
      merged_into: null,
      created_at: '2026-11-25T06:00:00.123Z',
      started_at: '2026-11-25T06:00:01.000Z',
      completed_at: null,
      updated_at: '2026-11-25T06:00:01.000Z',
    });
    expect(JSON.stringify(body)).not.toMatch(/lease|process_group|4242|session"|git_dir|owner|k1/);
  });

  it('builds the status summary', () => {
    expect(toTaskStatusResponse(task())).toEqual({
      id: 't1',
      status: 'RUNNING',
      status_reason: 'agent_turn',
      phase: 'agent_turn',
      iteration: 2,
      max_iterations: 20,
      pause_count: 1,
      max_pauses: 5,
      last_agent_message: 'hello',
      waiting_for_human: null,
      error_message: null,
      tests: { passed: 3, failed: 1, total: 4 },
      cost_usd: 0.5,
      input_tokens: 10,
      output_tokens: 20,
      created_at: '2026-11-25T06:00:00.123Z',
      started_at: '2026-11-25T06:00:01.000Z',
      completed_at: null,
      updated_at: '2026-11-25T06:00:01.000Z',
    });
  });

  it('a task waiting for a person shows the question; the held reply stays inside', () => {
    const wait = {
      question: 'Throw or return Infinity?',
      reason: 'answer_question' as const,
      reply: 'SIMULATED REPLY',
      phase: 'work',
      since: '2026-11-25T06:00:02.000Z',
      until: '2026-11-25T07:00:02.000Z',
    };
    const waiting = task({
      status: TaskStatus.Paused,
      statusReason: 'waiting_for_human',
      leaseOwner: null,
      humanWait: wait,
    });
    const shown = {
      question: 'Throw or return Infinity?',
      reason: 'answer_question',
      since: '2026-11-25T06:00:02.000Z',
      until: '2026-11-25T07:00:02.000Z',
    };
    expect(toTaskStatusResponse(waiting).waiting_for_human).toEqual(shown);
    expect(toTaskResponse(waiting).waiting_for_human).toEqual(shown);
    expect(JSON.stringify(toTaskResponse(waiting))).not.toContain('SIMULATED REPLY');
    // Resumed (the wait record is still on the row until its run clears it): not waiting.
    const resumed = task({
      status: TaskStatus.Pending,
      statusReason: 'human_replied',
      humanWait: wait,
    });
    expect(toTaskStatusResponse(resumed).waiting_for_human).toBeNull();
  });

  it('includes interactions and test cases in the details', () => {
    const interaction = Object.assign(new ClaudeInteraction(), {
      id: 7,
      taskId: 't1',
      kind: 'result',
      iteration: 2,
      content: 'done',
      data: { subtype: 'success' },
      costUsd: 0.1,
      inputTokens: 1,
      outputTokens: 2,
      createdAt: created,
    });
    const testCase = Object.assign(new TestCase(), {
      id: 3,
      taskId: 't1',
      iteration: 2,
      kind: 'generated',
      name: 'adds',
      filePath: 'a.test.js',
      status: 'passed',
      durationMs: 5,
      output: 'ok',
      createdAt: created,
    });
    const details = toTaskDetailResponse(task(), [interaction], 640, {
      latest: [testCase],
      total: 120,
    });
    expect(details.last_agent_message).toBe('hello');
    expect(details.interactions_total).toBe(640);
    expect(details.test_cases_total).toBe(120);
    expect(details.interactions).toEqual([
      {
        id: 7,
        kind: 'result',
        iteration: 2,
        content: 'done',
        data: { subtype: 'success' },
        cost_usd: 0.1,
        input_tokens: 1,
        output_tokens: 2,
        created_at: '2026-11-25T06:00:00.123Z',
      },
    ]);
    expect(details.test_cases).toEqual([
      {
        id: 3,
        iteration: 2,
        kind: 'generated',
        name: 'adds',
        file_path: 'a.test.js',
        status: 'passed',
        duration_ms: 5,
        output: 'ok',
        created_at: '2026-11-25T06:00:00.123Z',
      },
    ]);
  });
});
