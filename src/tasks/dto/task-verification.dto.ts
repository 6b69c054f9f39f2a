import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { STATUS_REASONS, type StatusReason, TaskStatus } from 'src/tasks/task-status';
import { WEAKENING_KINDS, type WeakeningKind } from 'src/tasks/verification-evidence';

const VERDICTS = [
  'verified',
  'tests_failed',
  'tests_pass_without_change',
  'tests_weakened',
  'regression_broken',
  'files_ignored',
  'setup_failed_on_commit',
  'links_outside',
  'changed_after_tests',
] as const;

export class VerificationCountsDto {
  @ApiProperty({ type: 'integer', example: 3 })
  passed!: number;

  @ApiProperty({ type: 'integer', example: 0 })
  failed!: number;

  @ApiProperty({ type: 'integer', example: 0 })
  errored!: number;

  @ApiProperty({ type: 'integer', example: 0 })
  skipped!: number;

  @ApiPropertyOptional({
    type: 'integer',
    example: 0,
    description:
      "Tests the tool collected and left out by its options, not run (pytest's `deselected`: `-k`, `-m`, `--deselect`), where the run's output was read",
  })
  deselected?: number;
}

/** One test command run for the verification. */
export class VerificationRunDto {
  @ApiProperty({
    type: [String],
    example: ['node', '--test'],
    description:
      'The command (for generated tests: the part before the file names), paths in the project relative to it',
  })
  command!: string[];

  @ApiProperty({
    type: 'array',
    items: { type: 'array', items: { type: 'string' } },
    required: false,
    example: [
      [
        'node_modules/.bin/jest',
        '--runTestsByPath',
        '--json',
        '--outputFile=/tmp/cta-junit-x/report-0.json',
        'test/mul.test.js',
      ],
    ],
    description:
      "Each command that ran, as it ran (one per generated test file), paths in the project relative to it (a report's path outside it is the server's, removed after the run); absent in evidence stored before it was kept",
  })
  commands?: string[][];

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'The commit it ran at: the base commit, or null for the change (its workspace)',
  })
  commit!: string | null;

  @ApiProperty({ type: 'integer', nullable: true, example: 0 })
  exit_code!: number | null;

  @ApiProperty({ example: false })
  timed_out!: boolean;

  @ApiProperty({ type: 'integer', example: 412 })
  duration_ms!: number;

  @ApiProperty({
    type: VerificationCountsDto,
    description:
      "Tests by outcome: as the run's output counts them where it does (TAP, unittest, pytest, cargo test, jest, vitest), else the cases stored for it (a regression run whose output counts nothing is one case)",
  })
  counts!: VerificationCountsDto;

  @ApiProperty({
    type: 'integer',
    nullable: true,
    description: "Tests run, where known (from the tool's output or report)",
  })
  total!: number | null;

  @ApiProperty({
    type: [String],
    description: 'Failing tests by name (the command, when results are per command)',
  })
  failing!: string[];

  @ApiProperty({
    type: [String],
    nullable: true,
    description:
      'Every test run by name, where the output names them all (TAP) or the server had the tool write a report of them (a pytest regression command: node ids, skipped and xfailed tests left out); else null',
  })
  tests!: string[] | null;

  @ApiProperty({ description: 'The start and end of the output (4 KiB at most)' })
  output_excerpt!: string;
}

export class VerificationWeakeningDto {
  @ApiProperty({ enum: WEAKENING_KINDS })
  kind!: WeakeningKind;

  @ApiProperty({ type: String, nullable: true, example: 'test/math.test.js' })
  file!: string | null;

  @ApiProperty({ example: 'deleted the existing test file test/math.test.js' })
  detail!: string;
}

/** `GET /api/v1/tasks/{id}/verification`: the evidence behind a task's verdict. */
export class TaskVerificationResponseDto {
  @ApiProperty({ format: 'uuid' })
  task_id!: string;

  @ApiProperty({ enum: TaskStatus })
  status!: TaskStatus;

  @ApiProperty({ enum: STATUS_REASONS, nullable: true })
  status_reason!: StatusReason | null;

  @ApiProperty({ description: 'The generated tests must fail or error at the base commit' })
  require_failing_tests!: boolean;

  @ApiProperty({ description: 'Weakening existing tests does not block completion' })
  allow_test_changes!: boolean;

  @ApiProperty({
    description:
      "The tests were judged at least once (false: `verdict`, `reason` and `checked_at` are null, and only the regression baseline, taken before the agent's first turn, may be filled)",
  })
  checked!: boolean;

  @ApiProperty({ type: String, nullable: true })
  base_commit!: string | null;

  @ApiProperty({ type: String, nullable: true })
  head_commit!: string | null;

  @ApiProperty({
    type: VerificationRunDto,
    nullable: true,
    description: 'The regression suite at the base commit, before the agent started',
  })
  baseline!: VerificationRunDto | null;

  @ApiProperty({ description: 'The baseline was taken by an earlier task on the same commit' })
  baseline_reused!: boolean;

  @ApiProperty({ type: VerificationRunDto, nullable: true })
  generated!: VerificationRunDto | null;

  @ApiProperty({
    type: VerificationRunDto,
    nullable: true,
    description:
      "The generated tests alone, in a scratch checkout of the base commit set up by the session's setup command (as a new workspace is); null when they were not run there: the checkout could not be made or the setup command failed there (said in `not_checked`), the task does not require failing tests, or there is no base commit",
  })
  generated_at_base!: VerificationRunDto | null;

  @ApiProperty({
    type: VerificationRunDto,
    nullable: true,
    description:
      "The base commit's versions of the existing test files the change edited (and of those beside the helpers, fixtures or expected output it edited in a test directory), run against the change in a scratch checkout of it set up by the session's setup command; null when it edited none, or when that setup failed (said in `not_checked`)",
  })
  existing_tests_on_change!: VerificationRunDto | null;

  @ApiProperty({
    type: VerificationRunDto,
    nullable: true,
    description:
      'The same files run at the base commit, when they failed against the change: where they fail there too, the change is not blamed',
  })
  existing_tests_at_base!: VerificationRunDto | null;

  @ApiProperty({
    type: VerificationRunDto,
    nullable: true,
    description:
      "The generated tests in a clean checkout of the change (what its commit holds, set up by the session's setup command, without the files git ignores but what that command made and the installed dependencies), run when files git ignores were created or changed while the agent worked; null when none were, or when the setup command failed there (verdict `setup_failed_on_commit`)",
  })
  generated_on_commit!: VerificationRunDto | null;

  @ApiProperty({
    type: VerificationRunDto,
    nullable: true,
    description:
      'The regression suite in the same clean checkout of the change, run when the generated tests passed there and the test round ran it in the workspace; a failure the workspace did not have, failing again there (its run again: the `test` record of stage `regression_rerun_on_commit`), sends the change back (verdict `files_ignored`)',
  })
  regression_on_commit!: VerificationRunDto | null;

  @ApiProperty({ type: VerificationRunDto, nullable: true })
  regression!: VerificationRunDto | null;

  @ApiProperty({
    type: VerificationRunDto,
    nullable: true,
    description: 'The regression suite run again for failures the baseline did not have',
  })
  regression_rerun!: VerificationRunDto | null;

  @ApiProperty({
    enum: ['tests', 'command'],
    nullable: true,
    description:
      'What the rerun ran: the new failures alone (node --test by name pattern, unittest by id, pytest by node id) or the whole regression command',
  })
  rerun_scope!: 'tests' | 'command' | null;

  @ApiProperty({
    enum: ['test', 'command'],
    nullable: true,
    description:
      'How fine the regression comparison is: per test (names read from TAP, unittest, pytest, cargo test, jest or vitest output) or per command',
  })
  regression_granularity!: 'test' | 'command' | null;

  @ApiProperty({ type: [String] })
  pre_existing_failures!: string[];

  @ApiProperty({ type: [String] })
  new_failures!: string[];

  @ApiProperty({ type: [String] })
  flaky_tests!: string[];

  @ApiProperty({ type: [VerificationWeakeningDto] })
  weakening!: VerificationWeakeningDto[];

  @ApiProperty({
    type: [String],
    description:
      'Files the agent wrote that git ignores: the tests ran with them, but the commit (the change reviewed and merged) does not hold them',
  })
  ignored_files!: string[];

  @ApiProperty({
    type: [String],
    example: ['src/config.js -> /home/me/config.js'],
    description:
      'Symbolic links the change created or changed that lead outside the repository (`path -> target`): the commit holds the link, not what it leads to',
  })
  outside_links!: string[];

  @ApiProperty({
    type: [String],
    example: ['src/math.js'],
    description:
      "Files (from the worktree's top) that changed between the start of the passing test round and the commit that would have completed the task (a process still running, or tests that rewrite tracked files): nothing was committed",
  })
  changed_after_tests!: string[];

  @ApiProperty({
    type: [String],
    example: ['node_modules/left-pad'],
    description:
      "Installed dependencies of the workspace (`node_modules`, `.venv`, `venv`, by package, from the worktree's top) that changed while the agent worked: the tests ran with them, but the commit does not hold them, so the task completed `verified_with_changed_dependencies`",
  })
  changed_dependencies!: string[];

  @ApiProperty({ type: [String], description: 'Checks that could not be made, each with why' })
  not_checked!: string[];

  @ApiProperty({ enum: VERDICTS, nullable: true })
  verdict!: (typeof VERDICTS)[number] | null;

  @ApiProperty({ type: String, nullable: true, example: 'verified' })
  reason!: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  checked_at!: string | null;
}

/** The verification in a task's details: the verdict and what it rests on, in short. */
export class VerificationSummaryDto {
  @ApiProperty({ enum: VERDICTS })
  verdict!: (typeof VERDICTS)[number];

  @ApiProperty({ example: 'verified' })
  reason!: string;

  @ApiProperty({ type: String, nullable: true })
  base_commit!: string | null;

  @ApiProperty({ type: String, nullable: true })
  head_commit!: string | null;

  @ApiProperty({ type: [String] })
  not_checked!: string[];

  @ApiProperty({ type: [String] })
  pre_existing_failures!: string[];

  @ApiProperty({ type: [String] })
  new_failures!: string[];

  @ApiProperty({ type: [String] })
  flaky_tests!: string[];

  @ApiProperty({ type: [String], description: 'What weakened the existing tests, in words' })
  weakening!: string[];

  @ApiProperty({ type: [String], description: 'Files the agent wrote that git ignores' })
  ignored_files!: string[];

  @ApiProperty({
    type: [String],
    description: 'Symbolic links of the change that lead outside the repository (`path -> target`)',
  })
  outside_links!: string[];

  @ApiProperty({
    type: [String],
    description: 'Files that changed between the start of the passing test round and the commit',
  })
  changed_after_tests!: string[];

  @ApiProperty({
    type: [String],
    description: 'Installed dependencies that changed while the agent worked, by package',
  })
  changed_dependencies!: string[];
}
