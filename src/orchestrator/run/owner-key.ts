import { NewInteraction, StatusReason } from 'src/tasks';

/** Why a task's owner key no longer lets it run. */
export type OwnerKeyRefusal = 'revoked' | 'expired';

/** When the refusal was found: as the task was to start, before a step, or as a cancel ended it. */
export type OwnerKeyMoment = 'start' | 'step' | 'stopped';

/** How a task ends when its owner key was revoked or expired: CANCELLED, with these. */
export interface OwnerKeyEnd {
  reason: StatusReason;
  message: string;
  /** The `system` record said in the task's history just before its end. */
  record: NewInteraction;
}

const DONE: Record<OwnerKeyMoment, string> = {
  start: 'the task was not started',
  step: 'the task was stopped before its next step (no agent turn, test or setup command starts)',
  stopped: 'the task was stopped at once (an agent turn or command it ran was ended)',
};

/**
 * THE OWNER KEY RULE. A task runs programs on the host for the key that created its session: once
 * that key is revoked or expired, nothing more of the task runs. It ends CANCELLED with
 * `owner_key_revoked` or `owner_key_expired` (a key deleted from the table counts as revoked): not
 * started when it is claimed, stopped before each agent turn, test round, setup command and
 * baseline, and a running one stopped at once on this server when the key is revoked here (a
 * cancel, `OwnerKeyRevocationService`; within a second on another server). A task no key owns
 * (created while keys were not required, or locally) is never refused.
 */
export function ownerKeyEnd(
  refusal: OwnerKeyRefusal,
  moment: OwnerKeyMoment,
  iteration: number,
): OwnerKeyEnd {
  const message = `The API key that owns this task was ${refusal}: ${DONE[moment]}.`;
  return {
    reason: refusal === 'revoked' ? 'owner_key_revoked' : 'owner_key_expired',
    message,
    record: {
      kind: 'system',
      iteration,
      content: message,
      data: { type: 'owner_key_refused', refusal, moment },
    },
  };
}
