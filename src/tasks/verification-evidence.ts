/**
 * THE EVIDENCE OF A TASK'S VERIFICATION, as stored on the task (`tasks.verification`, JSON) and
 * shown by `GET /api/v1/tasks/{id}/verification`: what ran, where, with what result, and the
 * verdict. Written by the run (`src/orchestrator/run/verification.ts`) after each verification.
 */

export interface VerificationCounts {
  passed: number;
  failed: number;
  errored: number;
  skipped: number;
  /**
   * Tests the tool collected and left out by its options, not in `total` (pytest's `deselected`),
   * where the run's output was read; absent in evidence stored before it was counted.
   */
  deselected?: number;
}

/** One test command run for the verification. */
export interface VerificationRun {
  /** The command (for generated tests: without the file names), relative to the project. */
  command: string[];
  /**
   * Each command that ran (one per generated test file), paths in the project relative to it;
   * absent in evidence stored before it was kept.
   */
  commands?: string[][];
  /** The commit it ran at: the base commit, or null for the task's change (its workspace). */
  commit: string | null;
  exit_code: number | null;
  timed_out: boolean;
  duration_ms: number;
  counts: VerificationCounts;
  /** Tests run, where known (from the tool's output or its report). */
  total: number | null;
  /** The failing tests by name (or the command, when results are per command). */
  failing: string[];
  /**
   * Every test run by name, where the output names them all (TAP) or the server had the tool
   * write a report of them (a pytest regression command: node ids, skipped and xfailed tests left
   * out, as they did not run); else null.
   */
  tests: string[] | null;
  output_excerpt: string;
}

/** What a change did to weaken the existing tests (`test-weakening.ts` finds them). */
export const WEAKENING_KINDS = [
  'deleted',
  'renamed',
  'skip_marker',
  'fewer_assertions',
  'test_hooks',
  'test_config_changed',
  'test_detection',
  'fewer_tests',
  'rewritten',
] as const;

export type WeakeningKind = (typeof WEAKENING_KINDS)[number];

export interface VerificationWeakening {
  kind: WeakeningKind;
  file: string | null;
  detail: string;
}

export type VerificationVerdict =
  | 'verified'
  | 'tests_failed'
  | 'tests_pass_without_change'
  | 'tests_weakened'
  | 'regression_broken'
  | 'files_ignored'
  | 'setup_failed_on_commit'
  | 'links_outside'
  | 'changed_after_tests';

export interface VerificationEvidence {
  base_commit: string | null;
  /** The commit of the change (set once a COMPLETED task's change is committed). */
  head_commit: string | null;
  /** The regression suite before the agent's first turn, at the base commit. */
  baseline: VerificationRun | null;
  /** The baseline was taken by an earlier task on the same base commit and command. */
  baseline_reused: boolean;
  /** The generated tests on the change. */
  generated: VerificationRun | null;
  /**
   * The generated tests alone, in a scratch checkout of the base commit set up by the session's
   * setup command; null when they did not run there (the checkout could not be made, or that
   * setup failed: said in `not_checked`).
   */
  generated_at_base: VerificationRun | null;
  /**
   * The base commit's versions of the existing test files the change edited, run against the
   * change (null when it edited none, or when the setup command failed in its checkout).
   */
  existing_tests_on_change: VerificationRun | null;
  /** The same files run at the base commit, when they failed against the change. */
  existing_tests_at_base: VerificationRun | null;
  /**
   * The generated tests in a clean checkout of the change (what its commit holds, without what
   * git ignores), run when files git ignores were created or changed while the agent worked;
   * absent in evidence stored before it was run.
   */
  generated_on_commit?: VerificationRun | null;
  /**
   * The regression suite in the same clean checkout, run when the generated tests passed there
   * and the round ran it in the workspace; absent in evidence stored before it was run.
   */
  regression_on_commit?: VerificationRun | null;
  /** The regression suite on the change. */
  regression: VerificationRun | null;
  /** The regression suite again, for the failures it had that were not at the baseline. */
  regression_rerun: VerificationRun | null;
  /** What the rerun ran: the new failures alone (`tests`), or the whole command (`command`). */
  rerun_scope: 'tests' | 'command' | null;
  /** How fine the regression comparison is: per test (names read from the output) or per command. */
  regression_granularity: 'test' | 'command' | null;
  pre_existing_failures: string[];
  new_failures: string[];
  flaky_tests: string[];
  weakening: VerificationWeakening[];
  /**
   * Files the agent wrote (with its file tools) that git ignores, or, when the generated tests or
   * the regression suite failed in a clean checkout of the change (`generated_on_commit`,
   * `regression_on_commit`) where they passed in the workspace, what git ignores that was
   * created or changed while it worked: the tests ran with them, but the commit, and so the change
   * reviewed and merged, does not hold them.
   */
  ignored_files: string[];
  /**
   * Symbolic links the change created or changed that lead outside the repository (`path ->
   * target`): the commit holds the link, not what it leads to. Absent in evidence stored before
   * links were looked at.
   */
  outside_links?: string[];
  /**
   * Files (from the worktree's top) that changed between the start of the passing test round
   * and the commit that would have completed the task (something still running changed them, or
   * the tests rewrote them): nothing was committed. Absent in evidence stored before it was
   * checked.
   */
  changed_after_tests?: string[];
  /**
   * The installed dependencies (`node_modules`, `.venv`, `venv` of the workspace, from the
   * worktree's top) changed while the agent worked, by package (at most
   * MAX_NAMED_DEPENDENCIES, `changed-dependencies.ts`): the tests ran with them as they are now,
   * and so did the scratch checkouts that link them, but the commit does not hold them. Absent in
   * evidence stored before they were looked at.
   */
  changed_dependencies?: string[];
  /** The task allowed test changes: weakening found is recorded but does not block. */
  test_changes_allowed: boolean;
  /** Checks that could not be made, each with why. */
  not_checked: string[];
  /**
   * Null until a test round is judged: the evidence is stored before that when the regression
   * baseline is taken, before the agent's first turn.
   */
  verdict: VerificationVerdict | null;
  /** `verified`, or why not, in words; null until judged. */
  reason: string | null;
  /** When the verdict was reached; null until judged. */
  checked_at: string | null;
}

/**
 * What evidence stored before a verdict could be null said in its place (a baseline taken, no
 * test round judged yet): read as no verdict.
 */
const NOT_JUDGED_MARK = 'not verified yet';

/** The evidence stored on a task, or null when there is none or it cannot be read. */
export function readVerification(json: string | null): VerificationEvidence | null {
  if (json === null) return null;
  try {
    const value = JSON.parse(json) as Partial<VerificationEvidence> | null;
    if (typeof value !== 'object' || value === null) return null;
    if (value.reason === NOT_JUDGED_MARK) {
      return { ...value, verdict: null, reason: null, checked_at: null } as VerificationEvidence;
    }
    return typeof value.verdict === 'string' || value.verdict === null
      ? (value as VerificationEvidence)
      : null;
  } catch {
    return null;
  }
}
