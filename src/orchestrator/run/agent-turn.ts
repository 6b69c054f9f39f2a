import {
  concatMap,
  defer,
  EMPTY,
  ignoreElements,
  map,
  Observable,
  race,
  Subject,
  take,
} from 'rxjs';
import { TurnEvent, TurnOutcome, TurnRequest } from 'src/claude-cli';
import { LateMessageError, MAX_UNDELIVERED_MESSAGES, NewInteraction, TaskPhase } from 'src/tasks';
import { ProcessTracker } from 'src/orchestrator/run/process-tracker';
import { promptWithMessages } from 'src/orchestrator/run/human-messages';
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
import { TurnWriter } from 'src/orchestrator/run/turn-writer';
import { FILE_TOOLS } from 'src/orchestrator/run/written-files';

/** The wait before a turn (after API errors): how long, and whether a person's interrupt ended it. */
interface Waited {
  ms: number;
  cutShort: boolean;
}

/** The CLI's tools that start no process: a turn that used only these left none running. */
const NO_PROCESS_TOOLS: ReadonlySet<string> = new Set([
  ...FILE_TOOLS,
  'Read',
  'Glob',
  'Grep',
  'LS',
  'TodoWrite',
]);

/**
 * Largest last agent message kept on the task (the status summary shows it), and question kept
 * in its `human_wait`.
 */
export const MAX_LAST_MESSAGE_BYTES = 16 * 1024;

/**
 * ONE AGENT TURN of a run, as an Observable that emits the turn's outcome once the CLI has ended.
 *
 * - It waits `step.delayMs` first (an RxJS timer: a cancel during the wait unsubscribes and
 *   nothing of the turn runs; a person's message sent with `interrupt` ends the wait), then
 *   counts the iteration and stores the prompt, with the messages waiting for it, together with
 *   the task's move to the turn's status (one write, made only while no message came after those
 *   read: `storePrompt`).
 * - Every event of the CLI is stored as it arrives, in order, within the turn's storage budget,
 *   in batches (`TurnWriter`); the conversation id is stored once the CLI has shown it knows it.
 * - At the end the turn's cost and tokens are added (`RunAccounting`), the API-error streak is
 *   counted (`ApiErrorBackoff`), and the result (and error) record is stored with the run's
 *   checkpoint.
 * - `interrupt` ends the CLI under way when a person's message sent with `interrupt` waits for a
 *   turn: the turn under way started before it (its prompt does not have it); `takeInterrupted`
 *   tells the run. Before the CLI runs, it ends the turn's wait after API errors instead.
 */
export class AgentTurn {
  private budget = new TurnStorageBudget();
  private readonly writer: TurnWriter;
  /** The CLI of a turn runs (spawned, its end not yet seen). */
  private cliRunning = false;
  private interrupted = false;
  /** Emits to end the wait before the turn's start, while the turn waits (after API errors). */
  private waitCut: Subject<'cut'> | null = null;

  constructor(
    private readonly ports: RunPorts,
    private readonly state: RunState,
    private readonly status: RunStatus,
    private readonly tracker: ProcessTracker,
    private readonly workspace: RunWorkspace,
  ) {
    this.writer = new TurnWriter(ports.log);
  }

  run(step: TurnStep): Observable<TurnOutcome> {
    return defer(() => {
      const cut = new Subject<'cut'>();
      const from = this.ports.clock.nowMs();
      this.waitCut = step.delayMs > 0 ? cut : null;
      return race(
        this.ports.clock.delay(step.delayMs).pipe(map(() => 'waited' as const)),
        cut,
      ).pipe(
        take(1),
        concatMap((end) => {
          this.waitCut = null;
          const waited: Waited | null =
            step.delayMs === 0
              ? null
              : end === 'waited'
                ? { ms: step.delayMs, cutShort: false }
                : { ms: this.ports.clock.nowMs() - from, cutShort: true };
          return this.start(step, waited);
        }),
      );
    }).pipe(
      concatMap((request) => this.ports.agent.runTurn(request)),
      concatMap((event) => this.onEvent(event)),
    );
  }

  /**
   * Ends the turn under way for a person's message sent with `interrupt`, if one waits for a turn
   * (a turn that started after it has it in its prompt). The turn must still be the one that ran
   * when the messages were read: the next one may have taken them meanwhile.
   */
  async interrupt(): Promise<void> {
    if (this.waitCut !== null) return this.cutWait(this.waitCut);
    if (!this.cliRunning || this.interrupted) return;
    const iteration = this.state.iteration;
    const waiting = await this.ports.messages.undelivered();
    if (!waiting.some((message) => message.interrupt)) return;
    if (!this.cliRunning || this.interrupted || this.state.iteration !== iteration) return;
    this.interrupted = true;
    await this.tracker.interrupt();
  }

  /** Ends the turn's wait (`cut`, while it waits) when a message sent with `interrupt` waits for it. */
  private async cutWait(cut: Subject<'cut'>): Promise<void> {
    const waiting = await this.ports.messages.undelivered();
    if (waiting.some((message) => message.interrupt) && this.waitCut === cut) cut.next('cut');
  }

  /** Whether the turn that just ended was interrupted; forgets it. */
  takeInterrupted(): boolean {
    const interrupted = this.interrupted;
    this.interrupted = false;
    return interrupted;
  }

  private start(step: TurnStep, waited: Waited | null): Observable<TurnRequest> {
    return defer(async () => {
      const { state } = this;
      state.iteration += 1;
      state.phase = step.phase;
      this.interrupted = false;
      this.budget = new TurnStorageBudget();
      const prompt = await this.storePrompt(step, waited);
      return {
        cwd: this.workspace.directory,
        env: this.workspace.agentEnv,
        prompt,
        conversationId: state.conversation.id,
        resume: state.conversation.started,
        priorConversationCostUsd: state.accounting.priorConversationCostUsd,
      };
    });
  }

  /**
   * Stores the turn's prompt, with every message waiting for a turn, together with the task's move
   * to the turn (one write: it takes every message, so an interrupt asked for before it is done
   * with), and returns it. The write is made only while no message came after those read: one
   * stored in between would count as given to this turn without being in its prompt. When one
   * did, the messages are read again (at most MAX_UNDELIVERED_MESSAGES can wait, so this ends).
   */
  private async storePrompt(step: TurnStep, waited: Waited | null): Promise<string> {
    const { state } = this;
    for (let attempt = 1; ; attempt += 1) {
      const { messages, readThrough } = await this.ports.messages.waiting();
      const prompt = promptWithMessages(step.prompt, messages);
      const record: NewInteraction = {
        kind: step.source === 'simulated_human' ? 'simulated_human' : 'prompt',
        iteration: state.iteration,
        content: capText(prompt),
        data: {
          source: step.source,
          reason: step.reason,
          intervention: step.intervention,
          new_conversation: !state.conversation.started,
          ...(messages.length > 0 ? { human_message_ids: messages.map((m) => m.id) } : {}),
          ...(waited === null ? {} : { waited_ms: waited.ms }),
          ...(waited?.cutShort ? { wait_cut_short: true } : {}),
        },
      };
      const phase: TaskPhase = step.phase === 'writing_tests' ? 'writing_tests' : 'agent_turn';
      try {
        await this.status.moveTo(
          step.status,
          step.statusReason,
          {
            ...step.patch,
            iteration: state.iteration,
            phase,
            runPhase: state.phase,
            interruptRequested: false,
          },
          [record],
          { noMessageAfter: readThrough },
        );
        return prompt;
      } catch (error) {
        if (!(error instanceof LateMessageError) || attempt > MAX_UNDELIVERED_MESSAGES) throw error;
      }
    }
  }

  /**
   * What one event of the CLI does. Most are queued for the next batch and the next event follows
   * at once (EMPTY, unless too much waits to be written); the start and the end of the process
   * wait for their writes.
   */
  private onEvent(event: TurnEvent): Observable<TurnOutcome> {
    if (event.type === 'spawned') {
      this.cliRunning = true;
      return defer(() => this.tracker.started(event.pid)).pipe(ignoreElements());
    }
    if (event.type === 'turn_end') return defer(() => this.end(event.outcome));
    const { state, writer } = this;
    if ((event.type === 'init' || event.type === 'result') && state.conversation.markStarted()) {
      writer.patch({ claudeSessionId: state.conversation.id });
    }
    if (event.type === 'assistant_text' && !event.synthetic && event.text.trim() !== '') {
      state.lastAgentMessage = capText(event.text, MAX_LAST_MESSAGE_BYTES);
      writer.patch({ lastAgentMessage: state.lastAgentMessage });
    }
    if (event.type === 'tool_use') {
      state.writtenFiles.use(event.id, event.name, event.input);
      if (!NO_PROCESS_TOOLS.has(event.name)) state.processesMayRemain = true;
    }
    if (event.type === 'tool_result') state.writtenFiles.result(event.toolUseId, event.isError);
    const record = eventInteraction(event, state.iteration);
    if (record && this.budget.admit(record)) writer.push(record);
    return writer.full ? defer(() => writer.flush()).pipe(ignoreElements()) : EMPTY;
  }

  private async end(outcome: TurnOutcome): Promise<TurnOutcome> {
    const { state } = this;
    this.cliRunning = false;
    await this.writer.flush();
    await this.tracker.settle();
    state.lastOutcome = outcome;
    state.backoff.record(outcome);
    state.accounting.addTurn(outcome);
    if (outcome.text && isAnsweredTurn(outcome)) {
      state.lastAgentMessage = capText(outcome.text, MAX_LAST_MESSAGE_BYTES);
    }
    const omitted = this.budget.omitted(state.iteration);
    // The turn's end and the run's checkpoint after it: one write.
    await this.ports.log.write(
      [
        ...(omitted ? [omitted] : []),
        ...turnEndInteractions(outcome, state.iteration, this.interrupted),
      ],
      {
        ...state.checkpoint(),
        lastAgentMessage: state.lastAgentMessage,
        processGroupId: null,
        phase: 'simulated_human',
      },
    );
    return outcome;
  }
}
