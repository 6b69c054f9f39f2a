import { answeredByPerson, Decision, interventionLeft, PolicyPhase } from 'src/simulated-human';
import { HumanWait, TaskStatus } from 'src/tasks';
import { RunContext, RunState } from 'src/orchestrator/run/run-state';
import { RunPorts } from 'src/orchestrator/run/run-ports';
import { RunStatus } from 'src/orchestrator/run/run-status';
import { END, followUpReason, Step, TurnStep, turnStatus } from 'src/orchestrator/run/run-steps';

const POLICY_PHASES: readonly PolicyPhase[] = ['work', 'writing_tests', 'fixing_tests'];

type WaitedDecision = Extract<Decision, { action: 'continue' }> & {
  reason: HumanWait['reason'];
};

/**
 * WAITING FOR A PERSON (`auto_respond: false`). When the agent asks a question or stops short, the
 * run does not give it the simulated human's reply: it lets go of the task, PAUSED with reason
 * `waiting_for_human` (no lease, no concurrency slot), keeping the question and the held reply in
 * `human_wait`. A person's message (or `human_timeout_seconds`) sends the task back to the queue
 * (`HumanWaits`), and the run that claims it starts with `resumeStep`: the person's words, or
 * the held reply when nobody answered in time.
 *
 * A person's reply is no intervention of the simulated human's: waiting does not count towards
 * `max_pauses` (the policy did not hold it to the limit either). The held reply given because
 * nobody answered in time is the simulated human's: it counts, and when none is left the task
 * fails `max_pauses_reached` instead (`resumeStep` null).
 *
 * A message can arrive while the run decides to wait: one already stored is the answer at once;
 * one stored while the wait is written found the task still running and could not end the wait,
 * so the run looks again once it let go and ends the wait itself.
 */
export class WaitForHuman {
  constructor(
    private readonly ctx: RunContext,
    private readonly ports: RunPorts,
    private readonly state: RunState,
    private readonly status: RunStatus,
  ) {}

  /** True when a person, not the simulated human, answers this decision. */
  applies(decision: Decision): decision is WaitedDecision {
    return decision.action === 'continue' && answeredByPerson(!this.ctx.task.autoRespond, decision);
  }

  /** Waits for a person (the run ends: END), or takes their message already there. */
  async wait(decision: WaitedDecision, phase: PolicyPhase): Promise<Step> {
    if (await this.answered()) return this.replyStep(phase);
    const { state } = this;
    const sinceMs = this.ports.clock.nowMs();
    const timeout = this.ctx.task.humanTimeoutSeconds;
    const until = timeout === null ? null : new Date(sinceMs + timeout * 1000);
    const wait: HumanWait = {
      question: state.lastAgentMessage,
      reason: decision.reason,
      reply: decision.prompt,
      phase,
      since: new Date(sinceMs).toISOString(),
      until: until === null ? null : until.toISOString(),
    };
    await this.status.release(TaskStatus.Paused, 'waiting_for_human', {
      ...state.checkpoint(),
      phase: 'waiting_for_human',
      humanWait: wait,
      humanWaitUntil: until,
    });
    if (await this.answered()) await this.ports.messages.endWait(state.iteration);
    return END;
  }

  /**
   * The first step of a run that waited: the person's answer, or the simulated human's reply (an
   * intervention); null when that reply is due but the task's `max_pauses` are used up.
   */
  async resumeStep(wait: HumanWait): Promise<TurnStep | null> {
    await this.ports.log.update({ humanWait: null, humanWaitUntil: null });
    const phase = POLICY_PHASES.includes(wait.phase as PolicyPhase)
      ? (wait.phase as PolicyPhase)
      : 'work';
    if (await this.answered()) return this.replyStep(phase);
    const { state } = this;
    if (!interventionLeft(state.pauseCount, this.ctx.task.maxPauses)) return null;
    state.pauseCount += 1;
    return {
      patch: { pauseCount: state.pauseCount },
      kind: 'turn',
      prompt: wait.reply,
      source: 'simulated_human',
      reason: wait.reason,
      intervention: true,
      phase,
      status: turnStatus(phase),
      statusReason: followUpReason(wait.reason),
      delayMs: 0,
    };
  }

  private async answered(): Promise<boolean> {
    return (await this.ports.messages.undelivered()).length > 0;
  }

  /** A turn that gives the agent the person's messages (the turn puts them ahead of the prompt). */
  private replyStep(phase: PolicyPhase): TurnStep {
    return {
      kind: 'turn',
      prompt: this.ports.human.personRepliedPrompt(this.ctx.task.description, { phase }),
      source: 'resume',
      reason: null,
      intervention: false,
      phase,
      status: turnStatus(phase),
      statusReason: 'human_replied',
      delayMs: 0,
    };
  }
}
