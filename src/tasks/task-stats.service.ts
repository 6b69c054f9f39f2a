import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { And, FindOptionsWhere, In, LessThan, MoreThanOrEqual, Repository } from 'typeorm';
import { ownerFilter, Principal } from 'src/access';
import { invalidRequest } from 'src/common';
import { ClaudeInteraction } from 'src/tasks/claude-interaction.entity';
import { TaskStatsQueryDto, TaskStatsResponseDto } from 'src/tasks/dto/task-stats.dto';
import { computeTaskStats } from 'src/tasks/task-stats';
import { TERMINAL_STATUSES } from 'src/tasks/task-status';
import { Task } from 'src/tasks/task.entity';

/** Task ids per query of their test rounds. */
const CHUNK = 500;

/**
 * `GET /api/v1/stats`: the finished tasks a key may see (its own; every task for an admin), by
 * session and over a window of their end, summed up by `computeTaskStats`.
 */
@Injectable()
export class TaskStatsService {
  constructor(
    @InjectRepository(Task) private readonly tasks: Repository<Task>,
    @InjectRepository(ClaudeInteraction)
    private readonly interactions: Repository<ClaudeInteraction>,
  ) {}

  /** A window that ends before it starts is a 400. */
  async stats(query: TaskStatsQueryDto, principal: Principal): Promise<TaskStatsResponseDto> {
    if (query.since && query.until && new Date(query.until) <= new Date(query.since)) {
      throw invalidRequest('until', 'until must be later than since');
    }
    const where: FindOptionsWhere<Task> = { status: In(TERMINAL_STATUSES) };
    const owner = ownerFilter(principal);
    if (owner !== undefined) where.ownerKeyId = owner;
    if (query.session_id) where.sessionId = query.session_id.toLowerCase();
    const since = query.since ? MoreThanOrEqual(new Date(query.since)) : null;
    const until = query.until ? LessThan(new Date(query.until)) : null;
    if (since !== null && until !== null) where.completedAt = And(since, until);
    else if (since !== null || until !== null) where.completedAt = since ?? until!;
    const tasks = await this.tasks.find({
      select: {
        id: true,
        status: true,
        statusReason: true,
        iteration: true,
        costUsd: true,
        startedAt: true,
        completedAt: true,
      },
      where,
    });
    const rounds = await this.testRounds(tasks.map((t) => t.id));
    return computeTaskStats(tasks.map((t) => ({ ...t, testRounds: rounds.get(t.id) ?? 0 })));
  }

  /** Test rounds per task: its `test` records of generated tests that are not verification runs. */
  private async testRounds(ids: readonly string[]): Promise<Map<string, number>> {
    const rounds = new Map<string, number>();
    for (let i = 0; i < ids.length; i += CHUNK) {
      const rows = await this.interactions
        .createQueryBuilder('i')
        .select('i.task_id', 'task_id')
        .addSelect('COUNT(*)', 'rounds')
        .where('i.task_id IN (:...ids)', { ids: ids.slice(i, i + CHUNK) })
        .andWhere("i.kind = 'test'")
        .andWhere('i.data LIKE :generated', { generated: '%"kind":"generated"%' })
        .andWhere('i.data NOT LIKE :stage', { stage: '%"stage":%' })
        .groupBy('i.task_id')
        .getRawMany<{ task_id: string; rounds: number | string }>();
      for (const row of rows) rounds.set(row.task_id, Number(row.rounds));
    }
    return rounds;
  }
}
