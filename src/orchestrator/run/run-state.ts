import { TurnOutcome } from 'src/claude-cli';
import { PolicyPhase } from 'src/simulated-human';
import { Task, TaskPatch, TaskStatus } from 'src/tasks';
import { ProjectSnapshot } from 'src/test-runner';
import { ApiErrorBackoff } from 'src/orchestrator/run/api-error-backoff';
import { Conversation } from 'src/orchestrator/run/conversation';
import { RunAccounting } from 'src/orchestrator/run/run-accounting';
import { WrittenFiles } from 'src/orchestrator/run/written-files';

/**
 * Where a run is, as stored in `tasks.run_phase`: a policy phase (working on the task, writing
 * tests, fixing them), or `running_tests` while a test round runs, so a run resumed after its
 * server stopped runs the round again instead of asking for the tests once more.
 */
export type RunPhase = PolicyPhase | 'running_tests';

const RUN_PHASES: readonly RunPhase[] = ['work', 'writing_tests', 'fixing_tests', 'running_tests'];

/** Settings a run reads (from AppConfig). */
export interface RunSettings {
  apiErrorRetryDelaySeconds: number;
  apiErrorRetryMaxDelaySeconds: number;
  killGraceMs: number;
}

/** What a run is given: the claimed task, its session's test commands and the settings. */
export interface RunContext {
  /** The task as claimed (RUNNING, its attempt counted). */
  task: Task;
  /** It ran before (its server stopped) and continues where it was. */
  resumed: boolean;
  testCommand: string | null;
  regressionCommand: string | null;
  /** The session's setup command, run in each new workspace before the agent starts. */
  setupCommand: string | null;
  settings: RunSettings;
}

/** The stored snapshot (JSON text), or null when there is none or it cannot be read. */
function readSnapshot(json: string | null): ProjectSnapshot | null {
  if (json === null) return null;
  try {
    const value = JSON.parse(json) as { mode?: unknown } | null;
    return value?.mode === 'git' || value?.mode === 'files' ? (value as ProjectSnapshot) : null;
  } catch {
    return null;
  }
}

/**
 * THE STATE OF ONE RUN: counters, the conversation, cost, the API-error streak and the test
 * files found so far. It starts from the task row, and `checkpoint()` is what is stored back after
 * each step, so a run resumed on another server continues with the same figures.
 */
export class RunState {
  status: TaskStatus;
  iteration: number;
  pauseCount: number;
  phase: RunPhase;
  lastAgentMessage: string | null;
  lastOutcome: TurnOutcome | null = null;
  turnsSinceEncouragement = 0;
  encouragements = 0;
  /** Tools refused in the previous turn, when it ended with refusals. */
  previousDeniedTools: string[] | undefined;
  readonly accounting: RunAccounting;
  readonly conversation: Conversation;
  readonly backoff: ApiErrorBackoff;
  testFiles: string[];
  testSnapshot: ProjectSnapshot | null;
  emptyTestTurns: number;
  /** Test rounds refused for changing existing tests (`TestReportSummary.testChanges`). */
  testChangeRefusals: number;
  /** The files the agent's file tools wrote in this run (not stored: see `WrittenFiles`). */
  readonly writtenFiles = new WrittenFiles();
  /**
   * Something that can start processes ran where the task works since the last look for processes
   * left running (the agent's shell or another tool that is not a file tool, the setup command, a
   * test round; or the run resumed, with nothing known of before): the next round looks first.
   */
  processesMayRemain = false;

  constructor(task: Task, settings: RunSettings) {
    this.status = task.status;
    this.iteration = task.iteration;
    this.pauseCount = task.pauseCount;
    this.phase = RUN_PHASES.includes(task.runPhase as RunPhase)
      ? (task.runPhase as RunPhase)
      : 'work';
    this.lastAgentMessage = task.lastAgentMessage;
    this.accounting = RunAccounting.from(task);
    this.conversation = Conversation.from(task);
    this.backoff = new ApiErrorBackoff(
      settings.apiErrorRetryDelaySeconds,
      settings.apiErrorRetryMaxDelaySeconds,
      task.apiErrorStreak,
    );
    this.testFiles = Array.isArray(task.testFiles) ? task.testFiles : [];
    this.testSnapshot = readSnapshot(task.testSnapshot);
    this.emptyTestTurns = task.emptyTestTurns;
    this.testChangeRefusals = task.testChangeRefusals;
  }

  /** The policy phase of the run now (a test round belongs to the test-fixing phase). */
  get policyPhase(): PolicyPhase {
    return this.phase === 'running_tests' ? 'fixing_tests' : this.phase;
  }

  /**
   * What is stored for a resume after each step. The test snapshot, which can be large, is stored
   * once, with the first turn's prompt (`TestPhase.snapshotOnce`).
   */
  checkpoint(): TaskPatch {
    return {
      ...this.accounting.patch(),
      runPhase: this.phase,
      testFiles: this.testFiles,
      emptyTestTurns: this.emptyTestTurns,
      testChangeRefusals: this.testChangeRefusals,
      apiErrorStreak: this.backoff.streak,
    };
  }
}
