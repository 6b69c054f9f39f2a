import { TurnOutcome } from 'src/claude-cli';

/**
 * THE WAIT AFTER API ERRORS. The CLI already retries inside a turn; when a turn still ends in an
 * API error the next turn waits `baseSeconds`, doubled for each further API error in a row, up to
 * `maxSeconds`. The streak is stored on the task (`api_error_streak`), so a resumed run does not
 * start hammering an API that is down.
 */
export class ApiErrorBackoff {
  constructor(
    private readonly baseSeconds: number,
    private readonly maxSeconds: number,
    private errorsInARow: number,
  ) {}

  get streak(): number {
    return this.errorsInARow;
  }

  /** Counts a finished turn: an API error lengthens the streak, anything else ends it. */
  record(outcome: Pick<TurnOutcome, 'kind'>): void {
    this.errorsInARow = outcome.kind === 'api_error' ? this.errorsInARow + 1 : 0;
  }

  /** Milliseconds to wait before the next turn (0 unless the last turn was an API error). */
  delayMs(): number {
    if (this.errorsInARow === 0) return 0;
    const seconds = Math.min(
      this.maxSeconds,
      this.baseSeconds * 2 ** Math.min(this.errorsInARow - 1, 20),
    );
    return seconds * 1000;
  }
}
