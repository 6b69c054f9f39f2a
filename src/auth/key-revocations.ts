import { Injectable } from '@nestjs/common';

/** What is done when a key is revoked: given the key's id; resolves once it is done. */
export type RevocationListener = (keyId: string) => Promise<void>;

/**
 * Tells the modules above that a key was revoked, and waits for what they do about it (the
 * orchestrator ends the key's queued and waiting tasks and stops its running ones:
 * `OwnerKeyRevocationService`). Lives in the auth module so that it does not depend on them: they
 * listen here. A listener's failure is its own to report; the revocation stands whatever they do.
 */
@Injectable()
export class KeyRevocations {
  private readonly listeners: RevocationListener[] = [];

  onRevoked(listener: RevocationListener): void {
    this.listeners.push(listener);
  }

  /** Tells every listener that `keyId` was revoked; resolves once each one is done. */
  async revoked(keyId: string): Promise<void> {
    await Promise.allSettled(this.listeners.map((listener) => listener(keyId)));
  }
}
