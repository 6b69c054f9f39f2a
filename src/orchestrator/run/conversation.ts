import { randomUUID } from 'node:crypto';
import { Task } from 'src/tasks';

/**
 * THE AGENT CONVERSATION OF A RUN. Its id is ours (a UUID passed as `--session-id` on the first
 * turn, `--resume` on later ones). It counts as started once the CLI has shown it knows the id
 * (its init or result line); only then is it stored on the task, so a resumed run continues it.
 * A conversation the CLI cannot continue (it never started, or the CLI lost it) is replaced by a
 * new one with a new id: the old id may be taken or unknown to the CLI.
 */
export class Conversation {
  private constructor(
    private currentId: string,
    private isStarted: boolean,
  ) {}

  static from(task: Pick<Task, 'claudeSessionId'>, newId: () => string = randomUUID): Conversation {
    return new Conversation(task.claudeSessionId ?? newId(), task.claudeSessionId !== null);
  }

  get id(): string {
    return this.currentId;
  }

  get started(): boolean {
    return this.isStarted;
  }

  /** The CLI showed the conversation exists; true when that is news (store it). */
  markStarted(): boolean {
    if (this.isStarted) return false;
    this.isStarted = true;
    return true;
  }

  /** Starts over with a new id; the next turn starts the conversation instead of resuming it. */
  replace(newId: string = randomUUID()): void {
    this.currentId = newId;
    this.isStarted = false;
  }
}
