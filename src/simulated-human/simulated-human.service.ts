import { Injectable } from '@nestjs/common';
import { AppConfig } from 'src/config';
import {
  loadPromptTemplates,
  PromptTemplates,
  renderTemplate,
} from 'src/simulated-human/prompt-templates';
import {
  decideNextStep,
  Decision,
  phaseGoal,
  PolicyInput,
  PolicySettings,
  seedFromString,
} from 'src/simulated-human/simulated-human.policy';
import {
  summarizeTestRuns,
  TestReportSummary,
  TestRunLike,
} from 'src/simulated-human/test-report-summary';

/** Largest failing-test output put into one feedback prompt (well below the 128 KiB argv limit). */
const MAX_FEEDBACK_BYTES = 24 * 1024;

/**
 * The simulated human as an injectable: the pure policy (`simulated-human.policy.ts`) with the
 * configured cadence, allowed tools and prompt templates. The templates file is read and
 * validated when the service is created, so a bad `PROMPT_TEMPLATES_FILE` stops the server at boot.
 */
@Injectable()
export class SimulatedHumanService {
  readonly templates: PromptTemplates;
  readonly settings: PolicySettings;

  constructor(config: AppConfig) {
    this.templates = loadPromptTemplates(config.PROMPT_TEMPLATES_FILE);
    this.settings = {
      encourageEveryMin: config.ENCOURAGE_EVERY_MIN,
      encourageEveryMax: config.ENCOURAGE_EVERY_MAX,
      allowedTools: config.CLAUDE_ALLOWED_TOOLS,
      maxFeedbackBytes: Math.min(MAX_FEEDBACK_BYTES, config.TEST_OUTPUT_MAX_BYTES),
    };
  }

  /** The prompt of a task's first agent turn. */
  firstTurnPrompt(taskDescription: string, projectPath: string): string {
    return renderTemplate(this.templates.firstTurn, { taskDescription, projectPath });
  }

  /**
   * The prompt that continues a task's conversation after its server stopped mid-task, naming
   * what the agent was doing then (the task, writing its tests, fixing them).
   */
  resumePrompt(taskDescription: string, at: Pick<PolicyInput, 'phase'>): string {
    return renderTemplate(this.templates.resumeAfterRestart, {
      taskDescription,
      currentGoal: phaseGoal(at.phase),
    });
  }

  /** The prompt after a person answered a task that waited for them (their words go first). */
  personRepliedPrompt(taskDescription: string, at: Pick<PolicyInput, 'phase'>): string {
    return renderTemplate(this.templates.personReplied, {
      taskDescription,
      currentGoal: phaseGoal(at.phase),
    });
  }

  /** What to do after a turn (or, with `input.testReport`, after a failed test run). */
  decide(input: PolicyInput): Decision {
    return decideNextStep(input, this.templates, this.settings);
  }

  /**
   * A deterministic encouragement seed for a task: the cadence changes after every
   * encouragement but is the same again when a task is resumed with the same counters.
   */
  encouragementSeed(taskId: string, encouragementsSoFar: number): number {
    return (seedFromString(taskId) + encouragementsSoFar) >>> 0;
  }

  /** Folds the TestRunner's reports of one test phase into the policy's `testReport`. */
  summarizeTests(runs: readonly TestRunLike[]): TestReportSummary {
    return summarizeTestRuns(runs);
  }
}
