import { TurnOutcome } from 'src/claude-cli';
import { hasDoneMarker, readAgentReply } from 'src/simulated-human/agent-reply-reader';
import { PromptTemplates, renderTemplate } from 'src/simulated-human/prompt-templates';
import { FailingTest, TestReportSummary } from 'src/simulated-human/test-report-summary';

/**
 * WHERE THE SIMULATED HUMAN DECIDES. `decideNextStep` is a pure function: the outcome of the turn
 * that just ended plus the task's counters in, one decision out. No clock, no randomness, no I/O;
 * whatever varies (the encouragement cadence) comes in through `input.encouragementSeed`.
 *
 * Rules, in the order they apply:
 * 1. `testReport` present (the tests just ran and did not pass): send the failing output back
 *    (`test_feedback`, not an intervention: it costs an iteration, not a pause). When the round
 *    was refused for changing existing tests (`testReport.testChanges`) for the
 *    MAX_TEST_CHANGE_REFUSALS-th time in the task and turns are left, the task fails
 *    `test_changes_needed` instead: it seems to need test changes it does not allow, and more
 *    turns would be spent between rewriting the tests and breaking them.
 * 2. `interrupted` (a person's message cut the turn short): the next turn carries on with what the
 *    person wrote (`person_interrupted`, the `personReplied` template; not an intervention). When
 *    the conversation had not started yet (cut before the CLI's init line), a new conversation
 *    (`newConversation`) starts with the `firstTurn` prompt, still `person_interrupted` and no
 *    intervention: nothing failed, so no `restartConversation` note.
 * 3. Fatal outcomes fail at once: CLI missing (`cli_not_found`), CLI not logged in
 *    (`cli_not_logged_in`, with what the operator must do).
 * 4. API error, execution error, crash, timeout: recovery prompt (intervention) that names what
 *    the agent was doing (the task, writing tests, fixing them). When the conversation cannot be
 *    continued (it never started: the turn ended before the CLI's init line; or the CLI no longer
 *    knows it: an unknown resume id) the recovery starts a new conversation (`newConversation`)
 *    whose prompt is `restartConversation` + `firstTurn`, and the work starts over from the `work`
 *    phase.
 * 5. Max turns: continuation prompt (intervention).
 * 6. Success with permission denials and no DONE line: a prompt naming the refused tools
 *    (intervention); when the previous turn was refused the very same tools again, the agent is
 *    stuck: fail `permission_denied`.
 * 7. Success (or success with denials and a DONE line), read by `readAgentReply`: a question is
 *    answered, a reply without a DONE line is continued (both interventions). A DONE after a
 *    `work` turn asks for tests (`write_tests`); after a `writing_tests` / `fixing_tests` turn the
 *    tests run (`run_tests`), unless the turn left no test file (`testFilesFound` 0): then the
 *    agent is told so and asked again (`no_tests`, not an intervention), and after
 *    MAX_EMPTY_TEST_TURNS such turns in a row the task fails `no_tests_written`.
 *
 * Limits, checked whenever the decision needs another agent turn:
 * - `iteration` counts agent turns already run (the one that just ended included). When
 *   `iteration >= maxIterations` no further turn is allowed: fail `max_iterations_reached`.
 * - An intervention with `pauseCount >= maxPauses` fails `max_pauses_reached`. The iteration limit
 *   is checked first. A reply a person gives instead (`personAnswers`: an answer to a question, a
 *   stop short continued) is no intervention of the simulated human's: the pause limit does not
 *   bound it, and no encouragement is put in front of it (the run gives the agent the person's
 *   message waiting for the next turn, or waits for one, holding this reply for when nobody
 *   answers in time).
 * - Either limit reached right after an API error, when the task met nothing but API errors
 *   lately (`apiErrorStreak` of MAX_API_ERROR_STREAK, or every turn so far), fails
 *   `api_unavailable` instead: the API, not the agent, kept the task from finishing.
 *
 * Encouragement: when `turnsSinceEncouragement` reaches the cadence (between
 * `encourageEveryMin` and `encourageEveryMax`, chosen by `encouragementSeed`), the `encourage`
 * template is put in front of the next follow-up prompt and the decision says `encouraged: true`
 * (the caller resets its counter). A plain continuation that is encouraged is reported with reason
 * `encourage`. Encouragement never changes whether a prompt is an intervention.
 */

/** Test-writing turns in a row that may leave no test file before the task fails. */
export const MAX_EMPTY_TEST_TURNS = 2;

/** Rounds refused for changing existing tests after which the task fails `test_changes_needed`. */
export const MAX_TEST_CHANGE_REFUSALS = 2;

/** What a task refused for changing existing tests can do, in the message it fails with. */
const TEST_CHANGES_ADVICE =
  'The last round was refused for changing existing tests: if the task means to change what existing tests check, retry it with allow_test_changes: true (POST /api/v1/tasks/{id}/retry); otherwise reword it so the existing tests can stay as they are.';

/** API errors in a row after which a limit reached is blamed on the API (`api_unavailable`). */
export const MAX_API_ERROR_STREAK = 3;

/** The part of a turn outcome the policy reads; any `TurnOutcome` fits. */
export type PolicyOutcome = Pick<TurnOutcome, 'kind' | 'text' | 'apiError' | 'timeout'> & {
  permissionDenials: readonly { toolName: string }[];
};

/**
 * The phase of the turn that just ended: `work` for the first turn and its follow-ups,
 * `writing_tests` for the turn answering `write_tests` and its follow-ups, `fixing_tests` for the
 * turn answering `test_feedback` and its follow-ups. A `continue` decision keeps the phase.
 */
export type PolicyPhase = 'work' | 'writing_tests' | 'fixing_tests';

/** How the project's tests are run; named in the write-tests prompt. */
export interface TestSetupHint {
  framework: string;
  command: string;
  conventions: string;
}

export interface PolicyInput {
  outcome: PolicyOutcome;
  phase: PolicyPhase;
  iteration: number;
  maxIterations: number;
  pauseCount: number;
  maxPauses: number;
  /** Agent turns since the last encouraged prompt (or since the start). */
  turnsSinceEncouragement: number;
  /**
   * Present only after a test run that did not pass (build it with `summarizeTestRuns`); the
   * decision is then test feedback or the iteration limit, and `outcome` is not read.
   */
  testReport?: TestReportSummary;
  taskDescription?: string;
  testSetup?: TestSetupHint;
  /** Tools refused in the previous turn, when that turn also ended with refusals. */
  previousDeniedTools?: readonly string[];
  /** Any integer; the same seed always gives the same encouragement cadence. */
  encouragementSeed?: number;
  /** False while the CLI has not yet started the task's conversation (no init line seen). */
  conversationStarted?: boolean;
  /** The project directory, named in the `firstTurn` prompt of a new conversation. */
  projectPath?: string;
  /**
   * After a `writing_tests` / `fixing_tests` turn: how many generated test files the project has
   * now (absent when nobody looked).
   */
  testFilesFound?: number;
  /** Test-writing turns in a row before this one that left no test file. */
  emptyTestTurns?: number;
  /** API errors in a row, the turn that just ended included. */
  apiErrorStreak?: number;
  /** Test rounds of the task refused for changing existing tests, `testReport`'s included. */
  testChangeRefusals?: number;
  /** The turn was cut short for a person's message sent with `interrupt`; `outcome` is not read. */
  interrupted?: boolean;
  /**
   * A person, not the simulated human, replies to a question or a stop short: a message of theirs
   * waits for the next turn, or the task waits for one (`auto_respond: false`). See
   * `PERSON_ANSWERED_REASONS`.
   */
  personAnswers?: boolean;
}

export interface PolicySettings {
  encourageEveryMin: number;
  encourageEveryMax: number;
  /** Tool rules the agent may use (named in the permission prompt). */
  allowedTools: readonly string[];
  /** Largest failing-test output put into a feedback prompt, bytes. */
  maxFeedbackBytes: number;
}

export type ContinueReason =
  | 'answer_question'
  | 'continue_stop_short'
  | 'recover_error'
  | 'test_feedback'
  | 'no_tests'
  | 'encourage'
  | 'permission_denied'
  | 'person_interrupted';

/**
 * The replies a person gives instead of the simulated human when one answers
 * (`PolicyInput.personAnswers`), unless the conversation starts over.
 */
const PERSON_ANSWERED_REASONS: readonly ContinueReason[] = [
  'answer_question',
  'continue_stop_short',
];

/** True when a person, not the simulated human, gives this reply (see `PERSON_ANSWERED_REASONS`). */
export function answeredByPerson(
  personAnswers: boolean,
  next: { reason: ContinueReason; newConversation?: true },
): boolean {
  return (
    personAnswers && next.newConversation !== true && PERSON_ANSWERED_REASONS.includes(next.reason)
  );
}

/**
 * True when the simulated human may intervene once more: each intervention counts towards
 * `max_pauses`, and one is refused once `pauseCount` reaches it. The policy's follow-up turns and
 * the held reply given to a task nobody answered in time both keep this rule.
 */
export function interventionLeft(pauseCount: number, maxPauses: number): boolean {
  return pauseCount < maxPauses;
}

/** The reasons the policy can fail a task with (each is also a task status reason). */
export const POLICY_FAIL_REASONS = [
  'cli_not_found',
  'cli_not_logged_in',
  'api_unavailable',
  'permission_denied',
  'no_tests_written',
  'test_changes_needed',
  'max_iterations_reached',
  'max_pauses_reached',
] as const;

export type PolicyFailReason = (typeof POLICY_FAIL_REASONS)[number];

export type Decision =
  | {
      action: 'continue';
      prompt: string;
      /** Counts against `maxPauses`; the task goes PAUSED while the prompt is prepared. */
      intervention: boolean;
      reason: ContinueReason;
      /** The encouragement was included: reset `turnsSinceEncouragement`. */
      encouraged: boolean;
      /** Start a new conversation (with a new id) instead of resuming the current one. */
      newConversation?: true;
    }
  | { action: 'write_tests'; prompt: string }
  | { action: 'run_tests' }
  | { action: 'fail'; reason: PolicyFailReason; message: string };

const UNKNOWN_RESUME_ID = /No conversation found with session ID/i;

/** What the agent is working on in each phase, for prompts that send it back to work. */
const PHASE_GOALS: Record<PolicyPhase, string> = {
  work: 'the task',
  writing_tests:
    "writing the automated tests for your change (new test files that the project's test command runs)",
  fixing_tests: 'making the failing tests pass',
};

/** What the agent is working on in `phase`, for prompts that send it back to work. */
export function phaseGoal(phase: PolicyPhase): string {
  return PHASE_GOALS[phase];
}

/** The operator's next step when the CLI is not logged in (the agent cannot fix this). */
const LOGIN_HELP =
  'Log in to the Claude CLI as the user this server runs as (run `claude` once and use /login), ' +
  "or set ANTHROPIC_API_KEY in the server's environment, then retry the task.";

/** Mixes an integer so that neighbouring seeds give unrelated cadences. */
function mix(seed: number): number {
  let h = Math.trunc(seed) | 0;
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Agent turns between encouragements for this seed, in `[min, max]`. */
export function encouragementCadence(seed: number, min: number, max: number): number {
  const low = Math.max(1, Math.min(min, max));
  const high = Math.max(low, max);
  return low + (mix(seed) % (high - low + 1));
}

/** A stable integer from a string (a task id), for `encouragementSeed`. */
export function seedFromString(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i += 1) {
    h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  }
  return h >>> 0;
}

/** Cuts `text` to at most `maxBytes` UTF-8 bytes, keeping its start and (mostly) its end. */
export function trimMiddle(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  const marker = (cut: number): string => `\n[... ${cut} bytes cut ...]\n`;
  const room = Math.max(0, maxBytes - Buffer.byteLength(marker(bytes.length)));
  const head = Math.floor(room / 3);
  const tail = room - head;
  const cut = bytes.length - head - tail;
  return (
    bytes.subarray(0, head).toString('utf8') +
    marker(cut) +
    bytes.subarray(bytes.length - tail).toString('utf8')
  );
}

function describeFailure(f: FailingTest): string {
  const where = f.filePath !== null && f.filePath !== f.name ? ` (${f.filePath})` : '';
  const label = f.kind === 'regression' ? 'regression test' : 'generated test';
  return `### ${label} ${f.status}: ${f.name}${where}`;
}

/**
 * The failing parts of a test run, shortened to `maxBytes`: each failure gets an equal share
 * (head and tail kept), failures that do not fit are listed by name, and a closing note says
 * what was cut.
 */
export function formatFailingOutput(report: TestReportSummary, maxBytes: number): string {
  const budget = Math.max(1024, maxBytes);
  if (report.failures.length === 0) {
    return trimMiddle(report.output.trim() || '(the test run produced no output)', budget);
  }
  const share = Math.max(512, Math.floor(budget / report.failures.length));
  const parts: string[] = [];
  let used = 0;
  let shown = 0;
  let cutBytes = 0;
  for (const failure of report.failures) {
    const body = failure.output.trim() || '(no output)';
    const section = `${describeFailure(failure)}\n${trimMiddle(body, share)}`;
    const size = Buffer.byteLength(section);
    if (used + size > budget) break;
    parts.push(section);
    used += size;
    shown += 1;
    cutBytes += Math.max(0, Buffer.byteLength(body) - Buffer.byteLength(trimMiddle(body, share)));
  }
  const hidden = report.failures.slice(shown);
  if (hidden.length > 0) {
    const names = hidden.map((f) => f.name).join(', ');
    parts.push(trimMiddle(`${hidden.length} more failing tests not shown: ${names}`, 1024));
  }
  if (cutBytes > 0 || hidden.length > 0) {
    parts.push(
      `(Output shortened to fit: ${cutBytes} bytes cut from long outputs, ${hidden.length} failing tests without output. Run the tests yourself for the full output.)`,
    );
  }
  return parts.join('\n\n');
}

type Follow = {
  reason: ContinueReason;
  prompt: string;
  intervention: boolean;
  newConversation?: true;
};

/** True when the API, not the agent, kept the task from finishing (see the limits above). */
function apiKeptFailing(input: PolicyInput): boolean {
  if (input.testReport !== undefined || input.outcome.kind !== 'api_error') return false;
  const streak = input.apiErrorStreak ?? 1;
  return streak >= Math.min(MAX_API_ERROR_STREAK, input.iteration);
}

function limitReached(
  input: PolicyInput,
  reason: 'max_iterations_reached' | 'max_pauses_reached',
  message: string,
): Decision {
  if (apiKeptFailing(input)) {
    const streak = input.apiErrorStreak ?? 1;
    return {
      action: 'fail',
      reason: 'api_unavailable',
      message: `The Claude API kept failing (${streak} API error(s) in a row, the last: ${(input.outcome.text ?? input.outcome.apiError ?? 'unknown').trim()}); ${message}`,
    };
  }
  return { action: 'fail', reason, message };
}

/** What the last test round still failed on, for the message of a task out of turns. */
function stillFailing(report: TestReportSummary | undefined): string {
  const [first, ...rest] = report?.failures ?? [];
  if (first === undefined) return 'the tests still fail';
  const more = rest.length > 0 ? ` (and ${rest.length} more)` : '';
  return `the last test round still did not pass: ${first.name}${more}`;
}

/**
 * Why a task out of turns ends: its tests still fail, or its work is not finished; or, for a turn
 * a person interrupted, that no turn is left to give them their message (the interrupt cut the
 * last turn short: whether the work was finished is not known).
 */
function outOfTurns(input: PolicyInput, next: Follow): string {
  if (next.reason === 'test_feedback') return stillFailing(input.testReport);
  if (next.reason === 'person_interrupted') {
    return "the last one was interrupted for a person's message: no turn is left to give it to the agent";
  }
  return 'the task is not finished';
}

function followUp(
  input: PolicyInput,
  templates: PromptTemplates,
  settings: PolicySettings,
  next: Follow,
): Decision {
  if (input.iteration >= input.maxIterations) {
    return limitReached(
      input,
      'max_iterations_reached',
      `Reached the limit of ${input.maxIterations} agent turns and ${outOfTurns(input, next)}.`,
    );
  }
  const byPerson = answeredByPerson(input.personAnswers === true, next);
  if (next.intervention && !byPerson && !interventionLeft(input.pauseCount, input.maxPauses)) {
    return limitReached(
      input,
      'max_pauses_reached',
      `The agent needed another intervention (${next.reason}) after ${input.pauseCount} of ${input.maxPauses} allowed.`,
    );
  }
  const cadence = encouragementCadence(
    input.encouragementSeed ?? 0,
    settings.encourageEveryMin,
    settings.encourageEveryMax,
  );
  if (byPerson || input.turnsSinceEncouragement < cadence) {
    return { action: 'continue', ...next, encouraged: false };
  }
  const encouragement = renderTemplate(templates.encourage, {
    iteration: input.iteration,
    maxIterations: input.maxIterations,
  });
  return {
    action: 'continue',
    ...next,
    prompt: `${encouragement}\n\n${next.prompt}`,
    reason: next.reason === 'continue_stop_short' ? 'encourage' : next.reason,
    encouraged: true,
  };
}

function taskValues(input: PolicyInput): Record<string, string> {
  return {
    taskDescription: input.taskDescription ?? 'the task you were given',
    currentGoal: phaseGoal(input.phase),
  };
}

function testSetupValues(input: PolicyInput): Record<string, string> {
  const setup = input.testSetup ?? {
    framework: "the project's test framework",
    command: 'the project test command',
    conventions: "Follow the existing tests' layout and naming.",
  };
  return {
    testFramework: setup.framework,
    testCommand: setup.command,
    testConventions: setup.conventions,
  };
}

function answer(
  input: PolicyInput,
  templates: PromptTemplates,
  settings: PolicySettings,
): Decision {
  return followUp(input, templates, settings, {
    reason: 'answer_question',
    intervention: true,
    prompt: renderTemplate(templates.answerQuestion, {
      ...taskValues(input),
      question: trimMiddle((input.outcome.text ?? '').trim(), settings.maxFeedbackBytes),
    }),
  });
}

function continueStopShort(
  input: PolicyInput,
  templates: PromptTemplates,
  settings: PolicySettings,
): Decision {
  return followUp(input, templates, settings, {
    reason: 'continue_stop_short',
    intervention: true,
    prompt: renderTemplate(templates.continueStopShort, {
      ...taskValues(input),
      lastMessage: trimMiddle((input.outcome.text ?? '').trim(), settings.maxFeedbackBytes),
    }),
  });
}

function errorKind(outcome: PolicyOutcome): string {
  if (outcome.kind === 'api_error') return `API error: ${outcome.apiError ?? 'other'}`;
  if (outcome.kind === 'timeout') return `timeout: ${outcome.timeout ?? 'overall'}`;
  return outcome.kind.replace('_', ' ');
}

function afterSuccess(
  input: PolicyInput,
  templates: PromptTemplates,
  settings: PolicySettings,
): Decision {
  const reading = readAgentReply(input.outcome.text);
  if (reading === 'question') return answer(input, templates, settings);
  if (reading === 'stop_short') return continueStopShort(input, templates, settings);
  if (input.phase !== 'work') return afterTestsWritten(input, templates, settings);
  if (input.iteration >= input.maxIterations) {
    return {
      action: 'fail',
      reason: 'max_iterations_reached',
      message: `Reached the limit of ${input.maxIterations} agent turns before tests could be written.`,
    };
  }
  return {
    action: 'write_tests',
    prompt: renderTemplate(templates.writeTests, {
      ...taskValues(input),
      ...testSetupValues(input),
    }),
  };
}

/** The agent says its tests are written (or fixed): run them, unless there are none. */
function afterTestsWritten(
  input: PolicyInput,
  templates: PromptTemplates,
  settings: PolicySettings,
): Decision {
  if (input.testFilesFound === undefined || input.testFilesFound > 0) {
    return { action: 'run_tests' };
  }
  const emptyTurns = (input.emptyTestTurns ?? 0) + 1;
  if (emptyTurns >= MAX_EMPTY_TEST_TURNS) {
    return {
      action: 'fail',
      reason: 'no_tests_written',
      message: `The agent was asked for tests ${emptyTurns} times in a row and left no test file in the project.`,
    };
  }
  return followUp(input, templates, settings, {
    reason: 'no_tests',
    intervention: false,
    prompt: renderTemplate(templates.noTestsWritten, {
      ...taskValues(input),
      ...testSetupValues(input),
    }),
  });
}

/**
 * A turn a person interrupted: the next one carries on with what they wrote. One cut short before
 * the CLI started its conversation left nothing to resume, and nothing failed: a new conversation
 * starts with the task, the person's words ahead of it.
 */
function carryOnForPerson(
  input: PolicyInput,
  templates: PromptTemplates,
  settings: PolicySettings,
): Decision {
  if (input.conversationStarted === false) {
    return followUp(input, templates, settings, {
      reason: 'person_interrupted',
      intervention: false,
      newConversation: true,
      prompt: renderTemplate(templates.firstTurn, {
        ...taskValues(input),
        projectPath: input.projectPath ?? 'this directory',
      }),
    });
  }
  return followUp(input, templates, settings, {
    reason: 'person_interrupted',
    intervention: false,
    prompt: renderTemplate(templates.personReplied, taskValues(input)),
  });
}

export function decideNextStep(
  input: PolicyInput,
  templates: PromptTemplates,
  settings: PolicySettings,
): Decision {
  const { outcome } = input;
  if (input.testReport !== undefined) {
    const report = input.testReport;
    const next = followUp(input, templates, settings, {
      reason: 'test_feedback',
      intervention: false,
      prompt: renderTemplate(templates.testFeedback, {
        ...taskValues(input),
        failingOutput: formatFailingOutput(report, settings.maxFeedbackBytes),
        failedCount: report.failed,
        totalCount: report.total,
        iteration: input.iteration,
        maxIterations: input.maxIterations,
      }),
    });
    const refusals = input.testChangeRefusals ?? 0;
    if (next.action === 'fail' && report.testChanges) {
      return { ...next, message: `${next.message} ${TEST_CHANGES_ADVICE}` };
    }
    if (next.action !== 'continue' || !report.testChanges || refusals < MAX_TEST_CHANGE_REFUSALS) {
      return next;
    }
    return {
      action: 'fail',
      reason: 'test_changes_needed',
      message: `The change was refused ${refusals} times for changing existing tests (the last: ${report.failures[0]?.name ?? 'tests changed'}), and the task does not allow test changes. ${TEST_CHANGES_ADVICE}`,
    };
  }
  if (input.interrupted === true) return carryOnForPerson(input, templates, settings);
  switch (outcome.kind) {
    case 'cli_not_found':
      return {
        action: 'fail',
        reason: 'cli_not_found',
        message: outcome.text ?? 'The Claude CLI was not found.',
      };
    case 'api_error':
    case 'execution_error':
    case 'crash':
    case 'timeout': {
      const text = (outcome.text ?? '').trim();
      if (outcome.kind === 'api_error' && outcome.apiError === 'not_logged_in') {
        return {
          action: 'fail',
          reason: 'cli_not_logged_in',
          message: `The Claude CLI is not logged in${text ? ` ("${text}")` : ''}. ${LOGIN_HELP}`,
        };
      }
      const lost = outcome.kind === 'execution_error' && UNKNOWN_RESUME_ID.test(text);
      if (lost || input.conversationStarted === false) {
        const restart = renderTemplate(templates.restartConversation, {
          errorKind: errorKind(outcome),
          errorText: trimMiddle(text || '(no error text)', settings.maxFeedbackBytes),
        });
        const task = renderTemplate(templates.firstTurn, {
          ...taskValues(input),
          projectPath: input.projectPath ?? 'this directory',
        });
        return followUp(input, templates, settings, {
          reason: 'recover_error',
          intervention: true,
          newConversation: true,
          prompt: `${restart}\n\n${task}`,
        });
      }
      return followUp(input, templates, settings, {
        reason: 'recover_error',
        intervention: true,
        prompt: renderTemplate(templates.recoverError, {
          ...taskValues(input),
          errorKind: errorKind(outcome),
          errorText: trimMiddle(text || '(no error text)', settings.maxFeedbackBytes),
        }),
      });
    }
    case 'max_turns':
      return followUp(input, templates, settings, {
        reason: 'continue_stop_short',
        intervention: true,
        prompt: renderTemplate(templates.continueMaxTurns, taskValues(input)),
      });
    case 'success_with_denials': {
      if (hasDoneMarker(outcome.text) || outcome.permissionDenials.length === 0) {
        return afterSuccess(input, templates, settings);
      }
      const denied = [...new Set(outcome.permissionDenials.map((d) => d.toolName))].sort();
      const previous = input.previousDeniedTools ?? [];
      if (previous.length > 0 && denied.every((tool) => previous.includes(tool))) {
        return {
          action: 'fail',
          reason: 'permission_denied',
          message: `The agent keeps calling refused tools (${denied.join(', ')}) after being told they are not allowed.`,
        };
      }
      return followUp(input, templates, settings, {
        reason: 'permission_denied',
        intervention: true,
        prompt: renderTemplate(templates.permissionDenied, {
          ...taskValues(input),
          deniedTools: denied.join(', '),
          allowedTools: settings.allowedTools.join(', ') || 'none',
        }),
      });
    }
    case 'success':
      return afterSuccess(input, templates, settings);
  }
}
