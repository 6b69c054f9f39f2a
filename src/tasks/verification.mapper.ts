import {
  TaskVerificationResponseDto,
  VerificationSummaryDto,
} from 'src/tasks/dto/task-verification.dto';
import { Task } from 'src/tasks/task.entity';
import { readVerification } from 'src/tasks/verification-evidence';

/** The evidence of a task, for `GET /api/v1/tasks/{id}/verification`. */
export function toVerificationResponse(task: Task): TaskVerificationResponseDto {
  const e = readVerification(task.verification);
  return {
    task_id: task.id,
    status: task.status,
    status_reason: task.statusReason,
    require_failing_tests: task.requireFailingTests,
    allow_test_changes: task.allowTestChanges,
    checked: e !== null && e.verdict !== null,
    base_commit: e?.base_commit ?? task.baseCommit,
    head_commit: e?.head_commit ?? task.headCommit,
    baseline: e?.baseline ?? null,
    baseline_reused: e?.baseline_reused ?? false,
    generated: e?.generated ?? null,
    generated_at_base: e?.generated_at_base ?? null,
    existing_tests_on_change: e?.existing_tests_on_change ?? null,
    existing_tests_at_base: e?.existing_tests_at_base ?? null,
    generated_on_commit: e?.generated_on_commit ?? null,
    regression_on_commit: e?.regression_on_commit ?? null,
    regression: e?.regression ?? null,
    regression_rerun: e?.regression_rerun ?? null,
    rerun_scope: e?.rerun_scope ?? null,
    regression_granularity: e?.regression_granularity ?? null,
    pre_existing_failures: e?.pre_existing_failures ?? [],
    new_failures: e?.new_failures ?? [],
    flaky_tests: e?.flaky_tests ?? [],
    weakening: e?.weakening ?? [],
    ignored_files: e?.ignored_files ?? [],
    outside_links: e?.outside_links ?? [],
    changed_after_tests: e?.changed_after_tests ?? [],
    changed_dependencies: e?.changed_dependencies ?? [],
    not_checked: e?.not_checked ?? [],
    verdict: e?.verdict ?? null,
    reason: e?.reason ?? null,
    checked_at: e?.checked_at ?? null,
  };
}

/** The short form in the task's details; null before the tests were first judged. */
export function toVerificationSummary(task: Task): VerificationSummaryDto | null {
  const e = readVerification(task.verification);
  if (e === null || e.verdict === null) return null;
  return {
    verdict: e.verdict,
    reason: e.reason ?? '',
    base_commit: e.base_commit,
    head_commit: e.head_commit,
    not_checked: e.not_checked,
    pre_existing_failures: e.pre_existing_failures,
    new_failures: e.new_failures,
    flaky_tests: e.flaky_tests,
    weakening: e.weakening.map((w) => w.detail),
    ignored_files: e.ignored_files ?? [],
    outside_links: e.outside_links ?? [],
    changed_after_tests: e.changed_after_tests ?? [],
    changed_dependencies: e.changed_dependencies ?? [],
  };
}
