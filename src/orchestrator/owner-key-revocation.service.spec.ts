import { In, type Repository } from 'typeorm';
import { KeyRevocations } from 'src/auth';
import { DomainError, ErrorCode } from 'src/common';
import { Task, TaskStatus } from 'src/tasks';
import { OwnerKeyRevocationService } from 'src/orchestrator/owner-key-revocation.service';
import type { TaskCancellationService } from 'src/orchestrator/task-cancellation.service';

/** A revoked key's tasks are cancelled through the cancel path, before the revocation is done. */
describe('OwnerKeyRevocationService', () => {
  const setUp = (ids: string[], cancel: (id: string) => Promise<unknown>) => {
    const find = jest.fn(() => Promise.resolve(ids.map((id) => ({ id }) as Task)));
    const cancelled: [string, string][] = [];
    const cancellation = {
      cancel: (id: string, cause: string) => {
        cancelled.push([id, cause]);
        return cancel(id);
      },
    } as unknown as TaskCancellationService;
    const revocations = new KeyRevocations();
    const service = new OwnerKeyRevocationService(revocations, cancellation, {
      find,
    } as unknown as Repository<Task>);
    service.onModuleInit();
    return { revocations, find, cancelled };
  };

  it('cancels each task of the key that has not ended, cause owner_key_revoked, before the revocation resolves', async () => {
    const { revocations, find, cancelled } = setUp(['t1', 't2'], () => Promise.resolve());
    await revocations.revoked('k1');
    expect(find).toHaveBeenCalledWith({
      select: { id: true },
      where: {
        ownerKeyId: 'k1',
        status: In([TaskStatus.Pending, TaskStatus.Running, TaskStatus.Paused, TaskStatus.Testing]),
      },
    });
    expect(cancelled).toEqual([
      ['t1', 'owner_key_revoked'],
      ['t2', 'owner_key_revoked'],
    ]);
  });

  it('goes on past a task that ended meanwhile, or whose cancel failed', async () => {
    const { revocations, cancelled } = setUp(['done', 'broken', 't3'], (id) =>
      id === 'done'
        ? Promise.reject(new DomainError(ErrorCode.TaskNotCancellable, 'ended'))
        : id === 'broken'
          ? Promise.reject(new Error('database away'))
          : Promise.resolve(),
    );
    await expect(revocations.revoked('k1')).resolves.toBeUndefined();
    expect(cancelled.map(([id]) => id)).toEqual(['done', 'broken', 't3']);
  });
});
