import { TurnOutcome } from 'src/claude-cli';
import { MAX_INT_COLUMN } from 'src/database';
import { Task } from 'src/tasks';

/**
 * COST AND TOKENS OF A RUN. The task's totals grow by each turn's figures; the CLI reports cost
 * per conversation (or per process, depending on its release: `TurnOutcome` already split it),
 * so the run also keeps what the current conversation has cost, which the next turn's figure is
 * derived from. Replacing the conversation starts that count again; the task's total keeps it.
 * Everything here is stored on the task (`patch`), so a resumed run counts on from the same figures.
 */
export class RunAccounting {
  private constructor(
    private costUsd: number,
    private inputTokens: number,
    private outputTokens: number,
    private conversationCostUsd: number,
  ) {}

  static from(
    task: Pick<Task, 'costUsd' | 'inputTokens' | 'outputTokens' | 'conversationCostUsd'>,
  ): RunAccounting {
    return new RunAccounting(
      task.costUsd,
      task.inputTokens,
      task.outputTokens,
      task.conversationCostUsd,
    );
  }

  /** What the current conversation cost before the next turn (for that turn's cost split). */
  get priorConversationCostUsd(): number {
    return this.conversationCostUsd;
  }

  get totalCostUsd(): number {
    return this.costUsd;
  }

  /** Adds a finished turn. */
  addTurn(outcome: TurnOutcome): void {
    this.costUsd += Math.max(0, outcome.turnCostUsd);
    this.conversationCostUsd = outcome.conversationCostUsd;
    this.inputTokens = Math.min(MAX_INT_COLUMN, this.inputTokens + outcome.inputTokens);
    this.outputTokens = Math.min(MAX_INT_COLUMN, this.outputTokens + outcome.outputTokens);
  }

  /** The conversation was replaced: the next one starts from nothing. */
  newConversation(): void {
    this.conversationCostUsd = 0;
  }

  patch(): Pick<Task, 'costUsd' | 'inputTokens' | 'outputTokens' | 'conversationCostUsd'> {
    return {
      costUsd: this.costUsd,
      inputTokens: this.inputTokens,
      outputTokens: this.outputTokens,
      conversationCostUsd: this.conversationCostUsd,
    };
  }
}
