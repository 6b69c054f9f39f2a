import { answeredByPerson, Decision, interventionLeft, PolicyPhase } from 'src/simulated-human';
import { HumanWait, LateMessageError, TaskStatus } from 'src/tasks';
import { RunContext, RunState } from 'src/orchestrator/run/run-state';
import { RunPorts } from 'src/orchestrator/run/run-ports';
import { RunStatus } from 'src/orchestrator/run/run-status';
import { END, followUpReason, Step, TurnStep, turnStatus } from 'src/orchestrator/run/run-steps';
import { MAX_LAST_MESSAGE_BYTES } from 'src/orchestrator/run/agent-turn';
import { capText } from 'src/orchestrator/run/turn-records';

const POLICY_PHASES: readonly PolicyPhase[] = ['work', 'writing_tests', 'fixing_tests'];

type WaitedDecision = Extract<Decision, { action: 'continue' }> & {
  reason: HumanWait['reason'];
};

/** A reply a person can give instead of the simulated human (a question's, a stop short's). */
function personAnswerable(decision: Decision): decision is WaitedDecision {
  return decision.action === 'continue' && answeredByPerson(true, decision);
}

/**
 * A PERSON'S REPLY INSTEAD OF THE SIMULATED HUMAN'S. When the agent asks a question or stops short
 * and a person's message waits for the next turn, that message is the reply (`replyFor`): the
 * agent gets it, not the simulated human's answer, whatever `auto_respond` says (a person's
 * message takes precedence over the simulated human).
 *
 * With `auto_respond: false` and no message yet, the run does not give the agent the simulated
 * human's reply: it lets go of the task, PAUSED with reason `waiting_for_human` (no lease, no
 * concurrency slot), keeping the question and the held reply in `human_wait`. A person's message
 * (or `human_timeout_seconds`) sends the task back to the queue (`HumanWaits`), and the run that
 * claims it starts with `resumeStep`: the person's words, or the held reply when nobody answered
 * in time.
 *
 * A person's reply is no intervention of the simulated human's: it does not count towards
 * `max_pauses`, and the policy does not hold it to that limit either (`personAnswers`). The held
 * reply given because nobody answered in time is the simulated human's: it counts, and when none
 * is left the task fails `max_pauses_reached` instead (`resumeStep` null).
 *
 * A message can arrive while the run decides to wait: one already stored is the answer at once,
 * and the wait is written only while none came after those read (`LateMessageError`: then that
 * message is the answer), so a message stored while the task still ran never waits with it
 * unread, even if the server stops right after. One whose write crossed the wait's (it found the
 * task still running, the wait landed after) is looked for once the run let go: the run ends the
 * wait itself.
 */
export class WaitForHuman {
  constructor(
    private readonly ctx: RunContext,
    private readonly ports: RunPorts,
    private readonly state: RunState,
    private readonly status: RunStatus,
  ) {}

  /**
   * True when a person, not the simulated human, would reply to a question or a stop short now:
   * the task waits for one (`auto_respond: false`), or a message of theirs waits for the next turn.
   */
  async personAnswers(): Promise<boolean> {
    return !this.ctx.task.autoRespond || (await this.answered());
  }

  /**
   * The step that gives the agent a person's reply to this decision: their message waiting for the
   * next turn, or (`auto_respond: false`) the wait for one. Null when the decision is not one a
   * person answers, or nobody has and the simulated human replies.
   */
  async replyFor(decision: Decision, phase: PolicyPhase): Promise<Step | null> {
    if (!personAnswerable(decision)) return null;
    if (await this.answered()) return this.replyStep(phase);
    return this.ctx.task.autoRespond ? null : this.wait(decision, phase);
  }

  /** Waits for a person: the run ends (END). */
  private async wait(decision: WaitedDecision, phase: PolicyPhase): Promise<Step> {
    const { state } = this;
    const sinceMs = this.ports.clock.nowMs();
    const timeout = this.ctx.task.humanTimeoutSeconds;
    const until = timeout === null ? null : new Date(sinceMs + timeout * 1000);
    const wait: HumanWait = {
      question: this.stoppedWith(),
      reason: decision.reason,
      reply: decision.prompt,
      phase,
      since: new Date(sinceMs).toISOString(),
      until: until === null ? null : until.toISOString(),
    };
    // Written only while no message came after those read: one stored as the run decided (the
    // task still running, so its sender could not end a wait) is the answer, and the task does
    // not wait with it unread, whatever becomes of this server after the write.
    const { messages, readThrough } = await this.ports.messages.waiting();
    if (messages.length > 0) return this.replyStep(phase);
    try {
      await this.status.release(
        TaskStatus.Paused,
        'waiting_for_human',
        {
          ...state.checkpoint(),
          phase: 'waiting_for_human',
          humanWait: wait,
          humanWaitUntil: until,
        },
        'step',
        [],
        { noMessageAfter: readThrough },
      );
    } catch (error) {
      if (error instanceof LateMessageError) return this.replyStep(phase);
      throw error;
    }
    // A message whose write crossed the wait's (it found the task running) ends the wait here.
    if (await this.answered()) await this.ports.messages.endWait(state.iteration);
    return END;
  }

  /**
   * What the turn the person is waited for said (its question, or where it stopped short), as the
   * policy read it; null when it ended without a message. Not the task's last agent message: that
   * keeps an earlier turn's text, a question already answered maybe, when this one said nothing.
   */
  private stoppedWith(): string | null {
    const text = this.state.lastOutcome?.text?.trim() ?? '';
    return text === '' ? null : capText(text, MAX_LAST_MESSAGE_BYTES);
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
