/** Longest part of the cause's message kept in the reason. */
const MAX_REASON_CHARS = 300;

/**
 * A scratch checkout for the verification (`VerificationPort`) could not be made: git could not
 * add it, a file could not be copied in, the dependencies could not be linked. No test ran there,
 * so nothing was learned about the change: the check it was for is named as not checked. Any
 * other failure of such a run (the database, a lost lease) is not this.
 */
export class ScratchCheckoutError extends Error {
  /** Why, for the evidence: the first line of the cause's message, at most MAX_REASON_CHARS. */
  readonly reason: string;

  constructor(cause: unknown) {
    const line = (cause instanceof Error ? cause.message : String(cause)).split('\n', 1)[0];
    const reason =
      line.length <= MAX_REASON_CHARS ? line : `${line.slice(0, MAX_REASON_CHARS)} [...]`;
    super(`the scratch checkout could not be made: ${reason}`, { cause });
    this.name = 'ScratchCheckoutError';
    this.reason = reason;
  }
}
