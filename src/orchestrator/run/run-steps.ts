import { TurnOutcome } from 'src/claude-cli';
import { ContinueReason, PolicyPhase } from 'src/simulated-human';
import { StatusReason, TaskPatch, TaskStatus } from 'src/tasks';

/** One agent turn to run. */
export interface TurnStep {
  kind: 'turn';
  prompt: string;
  /** `task` for the task's own first prompt, `resume` after a restart, else the simulated human. */
  source: 'task' | 'resume' | 'simulated_human';
  reason: ContinueReason | 'write_tests' | null;
  intervention: boolean;
  /** The policy phase this turn belongs to. */
  phase: PolicyPhase;
  /** Status the task is in while the turn runs, and the reason when it changes to it. */
  status: TaskStatus;
  statusReason: StatusReason;
  /** Wait before the turn (after an API error), milliseconds. */
  delayMs: number;
  /** Task columns stored with the turn's prompt (the test snapshot, before the first turn). */
  patch?: TaskPatch;
}

/** One test round: the generated test files, then the regression command. */
export interface TestsStep {
  kind: 'tests';
  files: readonly string[];
}

/** The session's setup command in a new workspace, before the agent's first step. */
export interface SetupStep {
  kind: 'setup';
  /** What runs when it passed (a failure fails the task `setup_failed`). */
  next: Step;
}

/** The regression suite's baseline, taken before the agent's first turn (`verification.ts`). */
export interface BaselineStep {
  kind: 'baseline';
  next: Step;
}

/**
 * One step of a run; `expand` turns each into the next until `end`. The step machine is in
 * `task-run.ts`.
 */
export type Step = TurnStep | TestsStep | SetupStep | BaselineStep | { kind: 'end' };

export const END: Step = { kind: 'end' };

/** Status a turn of the given phase runs in: writing tests is part of TESTING. */
export function turnStatus(phase: PolicyPhase): TaskStatus {
  return phase === 'writing_tests' ? TaskStatus.Testing : TaskStatus.Running;
}

/** Why the task goes PAUSED for an intervention of this reason. */
export function pauseReason(reason: ContinueReason, outcome: TurnOutcome | null): StatusReason {
  switch (reason) {
    case 'recover_error':
      return outcome?.kind === 'timeout' ? 'timeout' : 'agent_error';
    case 'permission_denied':
      return 'permission_denied';
    case 'test_feedback':
      return 'tests_failed';
    case 'no_tests':
      return 'tests_missing';
    case 'answer_question':
    case 'continue_stop_short':
    case 'encourage':
      return 'needs_input';
    case 'person_interrupted':
      return 'human_replied';
  }
}

/** The status reason a follow-up turn runs with. */
export function followUpReason(reason: ContinueReason): StatusReason {
  if (reason === 'test_feedback') return 'tests_failed';
  if (reason === 'no_tests') return 'tests_missing';
  return 'agent_turn';
}
