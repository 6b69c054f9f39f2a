import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, Repository } from 'typeorm';
import { KeyRevocations } from 'src/auth';
import { DomainError, ErrorCode } from 'src/common';
import { Task, TaskStatus } from 'src/tasks';
import { TaskCancellationService } from 'src/orchestrator/task-cancellation.service';

/** Statuses a task has until it ends: queued, running, paused (waiting for a person too), testing. */
const NOT_ENDED: readonly TaskStatus[] = [
  TaskStatus.Pending,
  TaskStatus.Running,
  TaskStatus.Paused,
  TaskStatus.Testing,
];

/** What a cancel answers for a task that ended meanwhile (completed, failed, deleted). */
const ENDED_MEANWHILE: readonly ErrorCode[] = [
  ErrorCode.TaskNotCancellable,
  ErrorCode.TaskNotFound,
];

/**
 * A REVOKED KEY'S TASKS END. When a key is revoked (`DELETE /api/v1/api-keys/{id}`), every task
 * it owns that has not ended is cancelled through the cancel path (`TaskCancellationService`,
 * cause `owner_key_revoked`) before the revocation answers: a queued task, or one waiting for a
 * person, ends CANCELLED `owner_key_revoked` at once; a running one is told to stop (on this
 * server at once, its process group ended; on another one within a second) and ends so too. What
 * this misses (a revocation by `npm run api-key`, a key that expires, a task that moved meanwhile)
 * is caught when a task would start and before each of its steps (`owner-key.ts`).
 */
@Injectable()
export class OwnerKeyRevocationService implements OnModuleInit {
  private readonly logger = new Logger('OwnerKeyRevocation');

  constructor(
    private readonly revocations: KeyRevocations,
    private readonly cancellation: TaskCancellationService,
    @InjectRepository(Task) private readonly tasks: Repository<Task>,
  ) {}

  onModuleInit(): void {
    this.revocations.onRevoked((keyId) => this.endTasksOf(keyId));
  }

  /** Cancels every task of `keyId` that has not ended; failures are logged, never thrown. */
  async endTasksOf(keyId: string): Promise<void> {
    let ids: string[];
    try {
      const rows = await this.tasks.find({
        select: { id: true },
        where: { ownerKeyId: keyId, status: In([...NOT_ENDED]) },
      });
      ids = rows.map((row) => row.id);
    } catch (error) {
      this.logger.error(`Key ${keyId} revoked; its tasks could not be read: ${String(error)}`);
      return;
    }
    let cancelled = 0;
    for (const id of ids) {
      try {
        await this.cancellation.cancel(id, 'owner_key_revoked');
        cancelled += 1;
      } catch (error) {
        if (error instanceof DomainError && ENDED_MEANWHILE.includes(error.code)) continue;
        this.logger.error(
          `Key ${keyId} revoked; its task ${id} could not be cancelled (it stops before its next step): ${String(error)}`,
        );
      }
    }
    if (cancelled > 0) this.logger.log(`Key ${keyId} revoked: ${cancelled} task(s) cancelled`);
  }
}
