import { DomainError, ErrorCode } from 'src/common';
import { readSmallRegularFile } from 'src/config';

/**
 * The words the simulated human says. Every prompt the server sends to the agent comes from one
 * of these templates; `{{name}}` placeholders are filled in by `renderTemplate`. The defaults can
 * be overridden key by key with a JSON file named by `PROMPT_TEMPLATES_FILE`
 * (`loadPromptTemplates`).
 */
export interface PromptTemplates {
  /** First turn of a task: the task itself plus the ground rules for working in the project. */
  firstTurn: string;
  /** The agent says it is done: ask it to write tests for its change. */
  writeTests: string;
  /** The agent asked a question: answer it (the simulated human has no extra knowledge). */
  answerQuestion: string;
  /** The agent stopped before finishing. */
  continueStopShort: string;
  /** The CLI stopped the agent at its tool-turn limit (`--max-turns`). */
  continueMaxTurns: string;
  /** The turn ended in an API error, an execution error, a crash or a timeout. */
  recoverError: string;
  /** Prepended to a follow-up prompt every few turns (the configured cadence). */
  encourage: string;
  /** The test-writing turn left no test file in the project: ask for the test files again. */
  noTestsWritten: string;
  /** Generated or regression tests failed: their output goes back to the agent. */
  testFeedback: string;
  /** Some tool calls were refused by the CLI's permission settings. */
  permissionDenied: string;
  /** The server running the task stopped mid-task; a new one continues the same conversation. */
  resumeAfterRestart: string;
  /**
   * A task that waited for a person (`auto_respond: false`) got their answer: it follows this
   * prompt's header with what they wrote.
   */
  personReplied: string;
  /**
   * The conversation cannot be continued (it never started, or the CLI no longer knows it): put
   * in front of `firstTurn` in a fresh conversation.
   */
  restartConversation: string;
}

export type PromptTemplateKey = keyof PromptTemplates;

/**
 * For each template: the placeholders it must contain (`required`) and the ones it may contain
 * (`allowed`). A custom template missing a required placeholder, or naming one that does not
 * exist, is rejected at boot.
 */
export const TEMPLATE_PLACEHOLDERS: Record<
  PromptTemplateKey,
  { required: readonly string[]; allowed: readonly string[] }
> = {
  firstTurn: { required: ['taskDescription'], allowed: ['projectPath'] },
  writeTests: {
    required: ['testCommand'],
    allowed: ['taskDescription', 'testFramework', 'testConventions'],
  },
  answerQuestion: { required: ['question'], allowed: ['taskDescription'] },
  continueStopShort: {
    required: [],
    allowed: ['lastMessage', 'taskDescription', 'currentGoal'],
  },
  continueMaxTurns: { required: [], allowed: ['taskDescription', 'currentGoal'] },
  recoverError: {
    required: ['errorText'],
    allowed: ['errorKind', 'taskDescription', 'currentGoal'],
  },
  encourage: { required: [], allowed: ['iteration', 'maxIterations'] },
  noTestsWritten: {
    required: [],
    allowed: ['taskDescription', 'testFramework', 'testCommand', 'testConventions'],
  },
  testFeedback: {
    required: ['failingOutput'],
    allowed: ['failedCount', 'totalCount', 'iteration', 'maxIterations', 'taskDescription'],
  },
  permissionDenied: {
    required: ['deniedTools'],
    allowed: ['allowedTools', 'taskDescription', 'currentGoal'],
  },
  resumeAfterRestart: { required: [], allowed: ['taskDescription', 'currentGoal'] },
  personReplied: { required: [], allowed: ['taskDescription', 'currentGoal'] },
  restartConversation: { required: [], allowed: ['errorKind', 'errorText'] },
};

export const DEFAULT_PROMPT_TEMPLATES: PromptTemplates = {
  firstTurn: [
    'You are working in the project at {{projectPath}}. Your task:',
    '',
    '{{taskDescription}}',
    '',
    'Guidelines:',
    '- Work only inside this project directory; do not read or change files outside it.',
    "- Follow the project's existing conventions: layout, language version, code style, test framework.",
    '- Keep the change focused on the task; do not reformat or rewrite unrelated code.',
    '- Do not ask for confirmation: when something is unclear, choose the simplest reasonable option and say which you chose.',
    '- When the task is completely finished, end your reply with a line containing only: DONE',
  ].join('\n'),
  writeTests: [
    'Now write automated tests for the change you just made (task: {{taskDescription}}).',
    '',
    "- Use the project's test framework ({{testFramework}}); the tests will be run with: {{testCommand}}",
    '- {{testConventions}}',
    '- Put the tests in new test files (or extend the existing test files for the code you changed).',
    '- Tests you already wrote for this change count: add only what is missing.',
    '- Cover the new behaviour, including edge cases and error cases.',
    '- Run the tests yourself and make sure they pass.',
    '- When the tests are written and pass, end your reply with a line containing only: DONE',
  ].join('\n'),
  answerQuestion: [
    'You asked:',
    '',
    '{{question}}',
    '',
    'There is nobody available to answer. Use your best judgement: pick the simplest option that',
    "fits the task and the project's conventions, note your choice briefly, and carry on without",
    'asking again. Do not take irreversible or destructive actions (deleting data, dropping or',
    'resetting databases, force-pushing) or act outside this project on that judgement: choose an',
    'option without them and say so. When the task is completely finished, end your reply with a',
    'line containing only: DONE',
  ].join('\n'),
  continueStopShort: [
    'Your last reply did not end with DONE, so the work is taken as not finished yet. Please',
    'continue with {{currentGoal}} (task: {{taskDescription}}) and complete it. If something',
    'failed, find another way. Do not ask for confirmation. When it is completely finished, end',
    'your reply with a line containing only: DONE',
  ].join('\n'),
  continueMaxTurns: [
    'You ran out of steps in the last turn. Continue where you left off with {{currentGoal}}',
    '(task: {{taskDescription}}). When it is completely finished, end your reply with a line',
    'containing only: DONE',
  ].join('\n'),
  recoverError: [
    'The last turn ended with an error ({{errorKind}}):',
    '',
    '{{errorText}}',
    '',
    'Check the state of the project (some changes may be half-done), then continue with',
    '{{currentGoal}} (task: {{taskDescription}}). When it is completely finished, end your reply',
    'with a line containing only: DONE',
  ].join('\n'),
  encourage: "You're making good progress (turn {{iteration}} of {{maxIterations}}). Keep going.",
  noTestsWritten: [
    'Your turns so far left no test file in the project: no file that looks like a test was',
    'created or changed since you started. Write the automated tests for your change (task:',
    "{{taskDescription}}) as test files in the project, using the project's test framework",
    '({{testFramework}}).',
    '- {{testConventions}}',
    '- They will be run with: {{testCommand}}',
    '- When the test files are written and pass, end your reply with a line containing only: DONE',
  ].join('\n'),
  testFeedback: [
    'The test round was not accepted ({{failedCount}} of {{totalCount}} failing, or refused by the',
    "server's checks). What failed or was refused:",
    '',
    '{{failingOutput}}',
    '',
    'Fix the cause. Change the tests only if the tests themselves are wrong. Then run the tests',
    'again and, when they pass, end your reply with a line containing only: DONE',
  ].join('\n'),
  permissionDenied: [
    'Some tool calls were refused by the permission settings: {{deniedTools}}.',
    'They will be refused again; do not retry them. Work within the allowed tools ({{allowedTools}})',
    'and finish {{currentGoal}} another way. When it is completely finished, end your reply with a',
    'line containing only: DONE',
  ].join('\n'),
  resumeAfterRestart: [
    'Your work on this task was interrupted: the server running it stopped, or lost its hold on the',
    'task (task: {{taskDescription}}).',
    'Check the current state of the project: the last step may be half-done. Then continue with',
    '{{currentGoal}}. When it is completely finished, end your reply with a line containing only: DONE',
  ].join('\n'),
  personReplied: [
    'Carry on with {{currentGoal}}, taking into account what the person wrote above. When it is',
    'completely finished, end your reply with a line containing only: DONE',
  ].join('\n'),
  restartConversation: [
    'An earlier attempt at this task ended before it could be continued ({{errorKind}}), so this',
    'is a fresh start. The project may already contain part of that work: look at its current',
    'state first.',
  ].join('\n'),
};

const PLACEHOLDER = /\{\{\s*([A-Za-z][A-Za-z0-9_]*)\s*\}\}/g;

/** Placeholder names used in a template, in order of first use. */
export function placeholdersOf(template: string): string[] {
  const names: string[] = [];
  for (const match of template.matchAll(PLACEHOLDER)) {
    if (!names.includes(match[1])) names.push(match[1]);
  }
  return names;
}

/**
 * Fills `{{name}}` placeholders in one pass, so text inside a value (an agent's question, test
 * output) is never expanded again. A placeholder without a value becomes an empty string.
 */
export function renderTemplate(
  template: string,
  values: Readonly<Record<string, string | number>>,
): string {
  return template.replace(PLACEHOLDER, (_all, name: string) => {
    const value = values[name];
    return value === undefined ? '' : String(value);
  });
}

/** Problems with a set of (possibly partial) template overrides; empty when they are valid. */
export function validateTemplateOverrides(overrides: unknown): string[] {
  if (typeof overrides !== 'object' || overrides === null || Array.isArray(overrides)) {
    return ['must be a JSON object mapping template names to strings'];
  }
  const problems: string[] = [];
  const known = Object.keys(TEMPLATE_PLACEHOLDERS);
  for (const [key, value] of Object.entries(overrides)) {
    if (!known.includes(key)) {
      problems.push(`unknown template "${key}" (known: ${known.join(', ')})`);
      continue;
    }
    if (typeof value !== 'string' || value.trim() === '') {
      problems.push(`template "${key}" must be a non-empty string`);
      continue;
    }
    const spec = TEMPLATE_PLACEHOLDERS[key as PromptTemplateKey];
    const used = placeholdersOf(value);
    for (const name of spec.required) {
      if (!used.includes(name)) {
        problems.push(`template "${key}" must contain {{${name}}}`);
      }
    }
    for (const name of used) {
      if (!spec.required.includes(name) && !spec.allowed.includes(name)) {
        const all = [...spec.required, ...spec.allowed];
        problems.push(
          `template "${key}" uses unknown placeholder {{${name}}} (allowed: ${all.join(', ') || 'none'})`,
        );
      }
    }
  }
  return problems;
}

/** Largest templates file read: the defaults are a few kilobytes. */
const PROMPT_TEMPLATES_MAX_BYTES = 1024 * 1024;

/**
 * The templates in effect: the defaults, with the keys found in `file` (JSON) replacing them.
 * Throws a `DomainError` naming every problem when the file cannot be read or is invalid, so a bad
 * file stops the server at boot.
 */
export function loadPromptTemplates(file?: string): PromptTemplates {
  if (file === undefined || file === '') return { ...DEFAULT_PROMPT_TEMPLATES };
  let parsed: unknown;
  try {
    parsed = JSON.parse(readSmallRegularFile(file, PROMPT_TEMPLATES_MAX_BYTES));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new DomainError(
      ErrorCode.ValidationFailed,
      `PROMPT_TEMPLATES_FILE ${file}: cannot read JSON: ${reason}`,
    );
  }
  const problems = validateTemplateOverrides(parsed);
  if (problems.length > 0) {
    throw new DomainError(
      ErrorCode.ValidationFailed,
      `PROMPT_TEMPLATES_FILE ${file}: ${problems.join('; ')}`,
      { problems },
    );
  }
  return { ...DEFAULT_PROMPT_TEMPLATES, ...(parsed as Partial<PromptTemplates>) };
}
