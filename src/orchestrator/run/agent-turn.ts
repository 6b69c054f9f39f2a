import { concatMap, defer, filter, from, Observable } from 'rxjs';
import { TurnEvent, TurnOutcome, TurnRequest } from 'src/claude-cli';
import { TaskPhase } from 'src/tasks';
import { ProcessTracker } from 'src/orchestrator/run/process-tracker';
import { RunPorts } from 'src/orchestrator/run/run-ports';
import { RunState } from 'src/orchestrator/run/run-state';
import { RunStatus } from 'src/orchestrator/run/run-status';
import { TurnStep } from 'src/orchestrator/run/run-steps';
import { RunWorkspace } from 'src/orchestrator/run/run-workspace';
import {
  capText,
  eventInteraction,
  isAnsweredTurn,
  turnEndInteractions,
  TurnStorageBudget,
} from 'src/orchestrator/run/turn-records';

/** Largest last agent message kept on the task (the status summary shows it). */
const MAX_LAST_MESSAGE_BYTES = 16 * 1024;

/**
 * ONE AGENT TURN of a run, as an Observable that emits the turn's outcome once the CLI has ended.
 *
 * - It waits `step.delayMs` first (an RxJS timer: a cancel during the wait unsubscribes and
 *   nothing of the turn runs), then counts the iteration, stores the prompt and moves the task
 *   to the turn's status.
 * - Every event of the CLI is stored as it arrives, in order, within the turn's storage budget;
 *   the conversation id is stored once the CLI has shown it knows it.
 * - At the end the turn's cost and tokens are added (`RunAccounting`), the API-error streak is
 *   counted (`ApiErrorBackoff`), and the result (and error) record is stored with the run's
 *   checkpoint.
 */
export class AgentTurn {
  private budget = new TurnStorageBudget();

  constructor(
    private readonly ports: RunPorts,
    private readonly state: RunState,
    private readonly status: RunStatus,
    private readonly tracker: ProcessTracker,
    private readonly workspace: RunWorkspace,
  ) {}

  run(step: TurnStep): Observable<TurnOutcome> {
    return this.ports.clock.delay(step.delayMs).pipe(
      concatMap(() => this.start(step)),
      concatMap((request) => this.ports.agent.runTurn(request)),
      concatMap((event) => from(this.onEvent(event))),
      filter((outcome): outcome is TurnOutcome => outcome !== null),
    );
  }

  private start(step: TurnStep): Observable<TurnRequest> {
    return defer(async () => {
      const { state } = this;
      state.iteration += 1;
      state.phase = step.phase;
      this.budget = new TurnStorageBudget();
      await this.ports.log.append({
        kind: step.source === 'simulated_human' ? 'simulated_human' : 'prompt',
        iteration: state.iteration,
        content: capText(step.prompt),
        data: {
          source: step.source,
          reason: step.reason,
          intervention: step.intervention,
          new_conversation: !state.conversation.started,
          ...(step.delayMs ? { waited_ms: step.delayMs } : {}),
        },
      });
      const phase: TaskPhase = step.phase === 'writing_tests' ? 'writing_tests' : 'agent_turn';
      await this.status.moveTo(step.status, step.statusReason, {
        iteration: state.iteration,
        phase,
        runPhase: state.phase,
      });
      return {
        cwd: this.workspace.directory,
        prompt: step.prompt,
        conversationId: state.conversation.id,
        resume: state.conversation.started,
        priorConversationCostUsd: state.accounting.priorConversationCostUsd,
      };
    });
  }

  private async onEvent(event: TurnEvent): Promise<TurnOutcome | null> {
    const { log } = this.ports;
    if (event.type === 'spawned') {
      await this.tracker.started(event.pid);
      return null;
    }
    if (event.type === 'turn_end') return this.end(event.outcome);
    if (
      (event.type === 'init' || event.type === 'result') &&
      this.state.conversation.markStarted()
    ) {
      await log.update({ claudeSessionId: this.state.conversation.id });
    }
    const record = eventInteraction(event, this.state.iteration);
    if (record && this.budget.admit(record)) await log.append(record);
    if (event.type === 'assistant_text' && !event.synthetic && event.text.trim() !== '') {
      this.state.lastAgentMessage = capText(event.text, MAX_LAST_MESSAGE_BYTES);
      await log.update({ lastAgentMessage: this.state.lastAgentMessage });
    }
    return null;
  }

  private async end(outcome: TurnOutcome): Promise<TurnOutcome> {
    const { state } = this;
    await this.tracker.settle();
    state.lastOutcome = outcome;
    state.backoff.record(outcome);
    state.accounting.addTurn(outcome);
    if (outcome.text && isAnsweredTurn(outcome)) {
      state.lastAgentMessage = capText(outcome.text, MAX_LAST_MESSAGE_BYTES);
    }
    const omitted = this.budget.omitted(state.iteration);
    await this.ports.log.append(
      ...(omitted ? [omitted] : []),
      ...turnEndInteractions(outcome, state.iteration),
    );
    await this.ports.log.update({
      ...state.checkpoint(),
      lastAgentMessage: state.lastAgentMessage,
      processGroupId: null,
      phase: 'simulated_human',
    });
    return outcome;
  }
}
