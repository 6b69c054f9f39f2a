import { DEFAULT_PROMPT_TEMPLATES } from 'src/simulated-human/prompt-templates';
import {
  Decision,
  decideNextStep,
  encouragementCadence,
  formatFailingOutput,
  PolicyInput,
  PolicyOutcome,
  PolicySettings,
  trimMiddle,
} from 'src/simulated-human/simulated-human.policy';
import { TestReportSummary } from 'src/simulated-human/test-report-summary';

const settings: PolicySettings = {
  encourageEveryMin: 3,
  encourageEveryMax: 5,
  allowedTools: ['Read', 'Edit', 'Bash'],
  maxFeedbackBytes: 4096,
};

function outcome(
  kind: PolicyOutcome['kind'],
  text: string | null,
  extra: Partial<PolicyOutcome> = {},
): PolicyOutcome {
  return { kind, text, permissionDenials: [], ...extra };
}

function input(over: Partial<PolicyInput>): PolicyInput {
  return {
    outcome: outcome('success', 'All implemented.\nDONE'),
    phase: 'work',
    iteration: 1,
    maxIterations: 20,
    pauseCount: 0,
    maxPauses: 5,
    turnsSinceEncouragement: 0,
    taskDescription: 'add a multiply function',
    ...over,
  };
}

const failingReport: TestReportSummary = {
  failures: [
    {
      kind: 'generated',
      name: 'multiply handles negatives',
      filePath: 'test/math.test.js',
      status: 'failed',
      output: 'AssertionError: expected -6, got 6',
    },
  ],
  output: 'node --test output',
  failed: 1,
  total: 3,
};

const testChangesReport: TestReportSummary = {
  failures: [
    {
      kind: 'regression',
      name: 'Existing tests were rewritten',
      filePath: null,
      status: 'failed',
      output: 'You changed what existing tests check: test/math.test.js.',
    },
  ],
  output: 'You changed what existing tests check: test/math.test.js.',
  failed: 1,
  total: 1,
  testChanges: true,
};

type Expect =
  | {
      action: 'continue';
      reason: string;
      intervention: boolean;
      contains?: string;
      newConversation?: boolean;
    }
  | { action: 'write_tests'; contains?: string }
  | { action: 'run_tests' }
  | { action: 'fail'; reason: string; contains?: string };

const cases: [string, Partial<PolicyInput>, Expect][] = [
  [
    'work success with DONE -> write tests',
    {},
    { action: 'write_tests', contains: 'add a multiply function' },
  ],
  [
    'work success summary without a DONE line -> continue, not tests',
    { outcome: outcome('success', 'I have implemented multiply() in src/math.js.') },
    { action: 'continue', reason: 'continue_stop_short', intervention: true },
  ],
  [
    '"not DONE yet" is not done -> continue',
    { outcome: outcome('success', 'The change is not DONE yet.') },
    { action: 'continue', reason: 'continue_stop_short', intervention: true },
  ],
  [
    'a failure without a question -> continue, not tests',
    { outcome: outcome('success', 'The Bash tool failed, I could not finish the change.') },
    {
      action: 'continue',
      reason: 'continue_stop_short',
      intervention: true,
      contains: 'did not end with DONE',
    },
  ],
  [
    'write-tests prompt names the detected test command',
    {
      testSetup: {
        framework: 'node:test',
        command: 'node --test',
        conventions: 'Name files *.test.js.',
      },
    },
    { action: 'write_tests', contains: 'node --test' },
  ],
  [
    'work success ending in a question -> answer (intervention)',
    { outcome: outcome('success', 'Should the function accept strings?') },
    {
      action: 'continue',
      reason: 'answer_question',
      intervention: true,
      contains: 'accept strings?',
    },
  ],
  [
    'work success announcing more work -> continue (intervention)',
    { outcome: outcome('success', 'Created the file. Next, I will add the export.') },
    { action: 'continue', reason: 'continue_stop_short', intervention: true },
  ],
  [
    'work success with empty text -> continue',
    { outcome: outcome('success', '') },
    { action: 'continue', reason: 'continue_stop_short', intervention: true },
  ],
  [
    'max_turns -> continue (intervention)',
    { outcome: outcome('max_turns', null) },
    {
      action: 'continue',
      reason: 'continue_stop_short',
      intervention: true,
      contains: 'ran out of steps',
    },
  ],
  [
    'api_error (rate limit) -> recover',
    { outcome: outcome('api_error', 'API Error: 429', { apiError: 'rate_limit' }) },
    { action: 'continue', reason: 'recover_error', intervention: true, contains: 'rate_limit' },
  ],
  [
    'api_error not logged in -> fail cli_not_logged_in, telling the operator what to do',
    {
      outcome: outcome('api_error', 'Not logged in · Please run /login', {
        apiError: 'not_logged_in',
      }),
    },
    { action: 'fail', reason: 'cli_not_logged_in', contains: 'ANTHROPIC_API_KEY' },
  ],
  [
    'an API error with pauses used up, after nothing but API errors -> api_unavailable',
    {
      outcome: outcome('api_error', 'API Error: 529 Overloaded', { apiError: 'overloaded' }),
      iteration: 5,
      pauseCount: 5,
      apiErrorStreak: 5,
    },
    { action: 'fail', reason: 'api_unavailable', contains: '529 Overloaded' },
  ],
  [
    'an API error at the iteration limit after three in a row -> api_unavailable',
    {
      outcome: outcome('api_error', 'API Error: 500', { apiError: 'other' }),
      iteration: 20,
      apiErrorStreak: 3,
    },
    { action: 'fail', reason: 'api_unavailable' },
  ],
  [
    'a single API error after other interventions used the pauses -> max_pauses_reached',
    {
      outcome: outcome('api_error', 'API Error: 500', { apiError: 'other' }),
      iteration: 6,
      pauseCount: 5,
      apiErrorStreak: 1,
    },
    { action: 'fail', reason: 'max_pauses_reached' },
  ],
  [
    'a recovery prompt while writing tests speaks of the tests',
    { phase: 'writing_tests', outcome: outcome('crash', 'boom') },
    {
      action: 'continue',
      reason: 'recover_error',
      intervention: true,
      contains: 'continue with\nwriting the automated tests',
    },
  ],
  [
    'cli_not_found -> fail cli_not_found',
    { outcome: outcome('cli_not_found', 'not found at claude') },
    { action: 'fail', reason: 'cli_not_found', contains: 'not found at claude' },
  ],
  [
    'execution_error -> recover',
    { outcome: outcome('execution_error', 'Tool crashed') },
    { action: 'continue', reason: 'recover_error', intervention: true, contains: 'Tool crashed' },
  ],
  [
    'execution_error for an unknown resume id -> new conversation carrying the task',
    { outcome: outcome('execution_error', 'No conversation found with session ID: 123') },
    {
      action: 'continue',
      reason: 'recover_error',
      intervention: true,
      newConversation: true,
      contains: 'add a multiply function',
    },
  ],
  [
    'crash before the conversation started -> new conversation carrying the task',
    {
      outcome: outcome('crash', 'CLI ended without a result (exit code 1)'),
      conversationStarted: false,
      projectPath: '/work/calc',
    },
    {
      action: 'continue',
      reason: 'recover_error',
      intervention: true,
      newConversation: true,
      contains:
        'You are working in the project at /work/calc. Your task:\n\nadd a multiply function',
    },
  ],
  [
    'init timeout before the conversation started -> new conversation',
    { outcome: outcome('timeout', null, { timeout: 'init' }), conversationStarted: false },
    {
      action: 'continue',
      reason: 'recover_error',
      intervention: true,
      newConversation: true,
      contains: 'timeout: init',
    },
  ],
  [
    'new conversation with pauses used up -> fail max_pauses_reached',
    { outcome: outcome('crash', 'boom'), conversationStarted: false, pauseCount: 5 },
    { action: 'fail', reason: 'max_pauses_reached' },
  ],
  [
    'crash -> recover',
    { outcome: outcome('crash', 'exit code 139: segfault') },
    { action: 'continue', reason: 'recover_error', intervention: true, contains: 'segfault' },
  ],
  [
    'timeout -> recover',
    { outcome: outcome('timeout', null, { timeout: 'idle' }) },
    { action: 'continue', reason: 'recover_error', intervention: true, contains: 'timeout: idle' },
  ],
  [
    'success with denials -> permission prompt naming the tools',
    {
      outcome: outcome('success_with_denials', 'I could not run it.', {
        permissionDenials: [{ toolName: 'Bash' }, { toolName: 'WebFetch' }],
      }),
    },
    {
      action: 'continue',
      reason: 'permission_denied',
      intervention: true,
      contains: 'Bash, WebFetch',
    },
  ],
  [
    'same denials twice in a row -> fail permission_denied',
    {
      outcome: outcome('success_with_denials', 'Still blocked.', {
        permissionDenials: [{ toolName: 'WebFetch' }],
      }),
      previousDeniedTools: ['WebFetch'],
    },
    { action: 'fail', reason: 'permission_denied', contains: 'WebFetch' },
  ],
  [
    'a new denial after an earlier one -> another permission prompt',
    {
      outcome: outcome('success_with_denials', 'Blocked.', {
        permissionDenials: [{ toolName: 'Bash' }],
      }),
      previousDeniedTools: ['WebFetch'],
    },
    { action: 'continue', reason: 'permission_denied', intervention: true },
  ],
  [
    'denials but the agent says DONE -> write tests',
    {
      outcome: outcome('success_with_denials', 'Worked around it.\nDONE', {
        permissionDenials: [{ toolName: 'WebFetch' }],
      }),
    },
    { action: 'write_tests' },
  ],
  [
    'writing_tests DONE with test files -> run tests',
    {
      phase: 'writing_tests',
      outcome: outcome('success', 'Added tests in test/math.test.js.\nDONE'),
      testFilesFound: 1,
    },
    { action: 'run_tests' },
  ],
  [
    'writing_tests without a DONE line -> continue with the tests',
    { phase: 'writing_tests', outcome: outcome('success', 'I will now run them.') },
    {
      action: 'continue',
      reason: 'continue_stop_short',
      intervention: true,
      contains: 'writing the automated tests',
    },
  ],
  [
    'writing_tests DONE but no test file -> say so and ask again (not an intervention)',
    {
      phase: 'writing_tests',
      outcome: outcome('success', 'Tests written.\nDONE'),
      testFilesFound: 0,
      pauseCount: 5,
    },
    {
      action: 'continue',
      reason: 'no_tests',
      intervention: false,
      contains: 'left no test file',
    },
  ],
  [
    'the second test-writing turn in a row without a test file -> fail no_tests_written',
    {
      phase: 'writing_tests',
      outcome: outcome('success', 'Tests written.\nDONE'),
      testFilesFound: 0,
      emptyTestTurns: 1,
    },
    { action: 'fail', reason: 'no_tests_written', contains: '2 times' },
  ],
  [
    'writing_tests question -> answer',
    {
      phase: 'writing_tests',
      outcome: outcome('success', 'Should I use jest?'),
      testFilesFound: 0,
    },
    { action: 'continue', reason: 'answer_question', intervention: true },
  ],
  [
    'fixing_tests success -> run tests',
    { phase: 'fixing_tests', outcome: outcome('success', 'Fixed the sign bug.\nDONE') },
    { action: 'run_tests' },
  ],
  [
    'failed tests with iterations left -> test feedback, not an intervention',
    { phase: 'writing_tests', testReport: failingReport, pauseCount: 5 },
    {
      action: 'continue',
      reason: 'test_feedback',
      intervention: false,
      contains: 'expected -6, got 6',
    },
  ],
  [
    'failed tests at the iteration limit -> fail max_iterations_reached',
    { testReport: failingReport, iteration: 20 },
    {
      action: 'fail',
      reason: 'max_iterations_reached',
      contains: 'the last test round still did not pass: multiply handles negatives',
    },
  ],
  [
    'the first round refused for changing existing tests -> test feedback',
    { testReport: testChangesReport, testChangeRefusals: 1 },
    {
      action: 'continue',
      reason: 'test_feedback',
      intervention: false,
      contains: 'You changed what existing tests check',
    },
  ],
  [
    'a refused round -> feedback that does not say the tests failed (they may all have passed)',
    { testReport: testChangesReport, testChangeRefusals: 1 },
    {
      action: 'continue',
      reason: 'test_feedback',
      intervention: false,
      contains:
        "The test round was not accepted (1 of 1 failing, or refused by the\nserver's checks). What failed or was refused:",
    },
  ],
  [
    'the second round refused for changing existing tests -> fail test_changes_needed',
    { testReport: testChangesReport, testChangeRefusals: 2 },
    {
      action: 'fail',
      reason: 'test_changes_needed',
      contains: 'retry it with allow_test_changes: true',
    },
  ],
  [
    'other failures after rounds refused for test changes -> test feedback',
    { testReport: failingReport, testChangeRefusals: 2 },
    { action: 'continue', reason: 'test_feedback', intervention: false },
  ],
  [
    'the second refused round at the iteration limit -> fail max_iterations_reached',
    { testReport: testChangesReport, testChangeRefusals: 1, iteration: 20 },
    {
      action: 'fail',
      reason: 'max_iterations_reached',
      contains:
        'if the task means to change what existing tests check, retry it with allow_test_changes: true',
    },
  ],
  [
    'a turn a person interrupted -> carry on with what they wrote, not an intervention',
    {
      phase: 'writing_tests',
      outcome: outcome('execution_error', '[Request interrupted by user]'),
      interrupted: true,
      pauseCount: 5,
    },
    {
      action: 'continue',
      reason: 'person_interrupted',
      intervention: false,
      contains: 'taking into account what the person wrote',
    },
  ],
  [
    'a turn a person interrupted before its conversation started -> a new conversation with the task, not an intervention',
    {
      phase: 'writing_tests',
      outcome: outcome('crash', null),
      interrupted: true,
      conversationStarted: false,
      maxPauses: 0,
    },
    {
      action: 'continue',
      reason: 'person_interrupted',
      intervention: false,
      newConversation: true,
      contains: 'Your task:\n\nadd a multiply function',
    },
  ],
  [
    'a test-writing turn a person interrupted at the iteration limit -> fail max_iterations_reached, not run the tests',
    {
      phase: 'writing_tests',
      outcome: outcome('success', 'Added tests.\nDONE'),
      testFilesFound: 1,
      interrupted: true,
      iteration: 20,
    },
    { action: 'fail', reason: 'max_iterations_reached' },
  ],
  [
    'continuation at the iteration limit -> fail max_iterations_reached',
    { outcome: outcome('success', 'What now?'), iteration: 20, maxIterations: 20 },
    { action: 'fail', reason: 'max_iterations_reached' },
  ],
  [
    'done at the iteration limit -> fail (no turn left to write tests)',
    { iteration: 3, maxIterations: 3 },
    { action: 'fail', reason: 'max_iterations_reached' },
  ],
  [
    'tests may still run at the iteration limit',
    { phase: 'writing_tests', outcome: outcome('success', 'DONE'), iteration: 20 },
    { action: 'run_tests' },
  ],
  [
    'intervention with pauses used up -> fail max_pauses_reached',
    { outcome: outcome('success', 'Which one?'), pauseCount: 5, maxPauses: 5 },
    { action: 'fail', reason: 'max_pauses_reached', contains: 'answer_question' },
  ],
  [
    'a question a person answers (auto_respond false) is not held to the pauses -> continue',
    { outcome: outcome('success', 'Which one?'), pauseCount: 5, maxPauses: 5, personAnswers: true },
    { action: 'continue', reason: 'answer_question', intervention: true },
  ],
  [
    'a stop short a person continues is not held to the pauses either',
    {
      outcome: outcome('success', 'Next, I will add the export.'),
      maxPauses: 0,
      personAnswers: true,
    },
    { action: 'continue', reason: 'continue_stop_short', intervention: true },
  ],
  [
    'the simulated human recovers an error even when a person answers questions: held to the pauses',
    { outcome: outcome('crash', 'boom'), pauseCount: 5, maxPauses: 5, personAnswers: true },
    { action: 'fail', reason: 'max_pauses_reached' },
  ],
  [
    'a question a person answers still needs a turn left',
    { outcome: outcome('success', 'Which one?'), iteration: 20, personAnswers: true },
    { action: 'fail', reason: 'max_iterations_reached' },
  ],
  [
    'max_pauses 0 fails the first intervention',
    { outcome: outcome('crash', 'boom'), maxPauses: 0 },
    { action: 'fail', reason: 'max_pauses_reached' },
  ],
  [
    'intervention with one pause left -> continue',
    { outcome: outcome('crash', 'boom'), pauseCount: 4, maxPauses: 5 },
    { action: 'continue', reason: 'recover_error', intervention: true },
  ],
  [
    'both limits exhausted -> iteration limit reported',
    { outcome: outcome('crash', 'boom'), pauseCount: 5, iteration: 20 },
    { action: 'fail', reason: 'max_iterations_reached' },
  ],
  [
    'fatal outcomes fail even with limits exhausted',
    { outcome: outcome('cli_not_found', null), iteration: 20, pauseCount: 5 },
    { action: 'fail', reason: 'cli_not_found' },
  ],
];

describe('decideNextStep', () => {
  it.each(cases)('%s', (_name, over, expected) => {
    const decision: Decision = decideNextStep(input(over), DEFAULT_PROMPT_TEMPLATES, settings);
    expect(decision.action).toBe(expected.action);
    if (decision.action === 'continue' && expected.action === 'continue') {
      expect(decision.reason).toBe(expected.reason);
      expect(decision.intervention).toBe(expected.intervention);
      expect(decision.encouraged).toBe(false);
      expect(decision.newConversation === true).toBe(expected.newConversation ?? false);
      if (expected.contains) expect(decision.prompt).toContain(expected.contains);
    }
    if (
      decision.action === 'write_tests' &&
      expected.action === 'write_tests' &&
      expected.contains
    ) {
      expect(decision.prompt).toContain(expected.contains);
    }
    if (decision.action === 'fail' && expected.action === 'fail') {
      expect(decision.reason).toBe(expected.reason);
      if (expected.contains) expect(decision.message).toContain(expected.contains);
    }
  });

  it('never leaves a placeholder unfilled in a prompt', () => {
    for (const [, over] of cases) {
      const d = decideNextStep(input(over), DEFAULT_PROMPT_TEMPLATES, settings);
      if (d.action === 'continue' || d.action === 'write_tests') {
        expect(d.prompt).not.toMatch(/\{\{/);
      }
    }
  });

  it('a turn a person interrupted at the iteration limit fails saying so, not that the work is unfinished', () => {
    const d = decideNextStep(
      input({
        outcome: outcome('execution_error', '[Request interrupted by user]'),
        interrupted: true,
        iteration: 2,
        maxIterations: 2,
      }),
      DEFAULT_PROMPT_TEMPLATES,
      settings,
    );
    expect(d).toEqual({
      action: 'fail',
      reason: 'max_iterations_reached',
      message:
        "Reached the limit of 2 agent turns and the last one was interrupted for a person's message: no turn is left to give it to the agent.",
    });
  });

  it('shortens a huge question so the prompt stays far below the argv limit', () => {
    const question = `${'context '.repeat(50_000)}\nWhich option should I pick?`;
    const d = decideNextStep(
      input({ outcome: outcome('success', question) }),
      DEFAULT_PROMPT_TEMPLATES,
      settings,
    );
    expect(d.action).toBe('continue');
    const prompt = d.action === 'continue' ? d.prompt : '';
    expect(Buffer.byteLength(prompt)).toBeLessThan(settings.maxFeedbackBytes + 2048);
    expect(prompt).toContain('Which option should I pick?');
    expect(prompt).toMatch(/bytes cut/);
  });

  it('does not expand placeholders found inside the agent text', () => {
    const d = decideNextStep(
      input({ outcome: outcome('success', 'Is {{taskDescription}} literal?') }),
      DEFAULT_PROMPT_TEMPLATES,
      settings,
    );
    expect(d.action === 'continue' && d.prompt).toContain('Is {{taskDescription}} literal?');
  });
});

describe('encouragement cadence', () => {
  it('stays within the configured range and is deterministic', () => {
    const seen = new Set<number>();
    for (let seed = 0; seed < 200; seed += 1) {
      const c = encouragementCadence(seed, 3, 5);
      expect(c).toBeGreaterThanOrEqual(3);
      expect(c).toBeLessThanOrEqual(5);
      expect(encouragementCadence(seed, 3, 5)).toBe(c);
      seen.add(c);
    }
    expect([...seen].sort()).toEqual([3, 4, 5]);
  });

  it('encourages a stop-short once the cadence is reached, reason encourage', () => {
    const seed = 7;
    const cadence = encouragementCadence(seed, 3, 5);
    const stopShort = outcome('success', 'Next, I will add the export.');
    const before = decideNextStep(
      input({ outcome: stopShort, encouragementSeed: seed, turnsSinceEncouragement: cadence - 1 }),
      DEFAULT_PROMPT_TEMPLATES,
      settings,
    );
    expect(before).toMatchObject({
      action: 'continue',
      reason: 'continue_stop_short',
      encouraged: false,
    });
    const due = decideNextStep(
      input({
        outcome: stopShort,
        encouragementSeed: seed,
        turnsSinceEncouragement: cadence,
        iteration: 4,
      }),
      DEFAULT_PROMPT_TEMPLATES,
      settings,
    );
    expect(due).toMatchObject({
      action: 'continue',
      reason: 'encourage',
      intervention: true,
      encouraged: true,
    });
    expect(due.action === 'continue' && due.prompt).toMatch(
      /^You're making good progress \(turn 4 of 20\)/,
    );
  });

  it('puts no encouragement in front of a reply a person gives instead (auto_respond false)', () => {
    const seed = 7;
    const due = decideNextStep(
      input({
        outcome: outcome('success', 'Next, I will add the export.'),
        encouragementSeed: seed,
        turnsSinceEncouragement: encouragementCadence(seed, 3, 5),
        personAnswers: true,
      }),
      DEFAULT_PROMPT_TEMPLATES,
      settings,
    );
    expect(due).toMatchObject({
      action: 'continue',
      reason: 'continue_stop_short',
      encouraged: false,
    });
  });

  it('keeps the reason of other follow-ups and their intervention flag', () => {
    const d = decideNextStep(
      input({ testReport: failingReport, turnsSinceEncouragement: 5 }),
      DEFAULT_PROMPT_TEMPLATES,
      settings,
    );
    expect(d).toMatchObject({
      action: 'continue',
      reason: 'test_feedback',
      intervention: false,
      encouraged: true,
    });
  });

  it('keeps a new conversation when the encouragement is due', () => {
    const d = decideNextStep(
      input({
        outcome: outcome('execution_error', 'No conversation found with session ID: 123'),
        turnsSinceEncouragement: 5,
      }),
      DEFAULT_PROMPT_TEMPLATES,
      settings,
    );
    expect(d).toMatchObject({
      action: 'continue',
      reason: 'recover_error',
      newConversation: true,
      encouraged: true,
    });
  });

  it('uses a fixed cadence when min equals max', () => {
    expect(encouragementCadence(123, 4, 4)).toBe(4);
  });
});

describe('failing output for feedback', () => {
  it('keeps head and tail of a long output and says how much was cut', () => {
    const long = `START ${'x'.repeat(20000)} ASSERTION FAILED at the end`;
    const out = trimMiddle(long, 2000);
    expect(Buffer.byteLength(out)).toBeLessThanOrEqual(2000);
    expect(out.startsWith('START')).toBe(true);
    expect(out.endsWith('ASSERTION FAILED at the end')).toBe(true);
    expect(out).toMatch(/\[\.\.\. \d+ bytes cut \.\.\.\]/);
  });

  it('fits many failures into the budget, lists the rest by name and notes the cut', () => {
    const failures = Array.from({ length: 40 }, (_v, i) => ({
      kind: 'generated' as const,
      name: `case ${i}`,
      filePath: 'test/a.test.js',
      status: 'failed' as const,
      output: `failure ${i}: ${'y'.repeat(3000)}`,
    }));
    const text = formatFailingOutput({ failures, output: '', failed: 40, total: 40 }, 8192);
    expect(Buffer.byteLength(text)).toBeLessThan(8192 + 2048);
    expect(text).toContain('### generated test failed: case 0');
    expect(text).toMatch(/\d+ more failing tests not shown: .*case 39/);
    expect(text).toContain('Output shortened to fit');
  });

  it('uses the command output when no case explains the failure', () => {
    const text = formatFailingOutput(
      { failures: [], output: 'SyntaxError: Unexpected token', failed: 0, total: 0 },
      4096,
    );
    expect(text).toBe('SyntaxError: Unexpected token');
  });

  it('leaves a short output untouched', () => {
    expect(trimMiddle('short', 1024)).toBe('short');
  });
});
