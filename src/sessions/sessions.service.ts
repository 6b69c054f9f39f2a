import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { DomainError, ErrorCode, PaginationQueryDto } from 'src/common';
import { splitCommandLine } from 'src/test-runner';
import { CreateSessionDto } from 'src/sessions/dto/create-session.dto';
import { ProjectPathService } from 'src/sessions/project-path.service';
import { Session } from 'src/sessions/session.entity';

const blankToNull = (value: string | null | undefined): string | null =>
  value === undefined || value === null || value.trim() === '' ? null : value;

/**
 * `test_command` and `regression_command` are run without a shell (splitCommandLine): one that
 * cannot be split, or needs a shell, is refused when the session is created rather than failing
 * every task later. 400 `validation_failed`, naming each bad field like the validation pipe does.
 */
function assertRunnableCommands(commands: Record<string, string | null>): void {
  const errors: { field: string; errors: string[] }[] = [];
  for (const [field, command] of Object.entries(commands)) {
    if (command === null) continue;
    try {
      splitCommandLine(command);
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      errors.push({ field, errors: [`${field}: ${err.message}`] });
    }
  }
  if (errors.length > 0) {
    throw new DomainError(
      ErrorCode.ValidationFailed,
      `Invalid request: ${errors.map((e) => e.errors.join(', ')).join('; ')}`,
      { errors },
    );
  }
}

@Injectable()
export class SessionsService {
  constructor(
    @InjectRepository(Session) private readonly sessions: Repository<Session>,
    private readonly projectPaths: ProjectPathService,
  ) {}

  async create(dto: CreateSessionDto): Promise<Session> {
    const testCommand = blankToNull(dto.test_command);
    const regressionCommand = blankToNull(dto.regression_command);
    assertRunnableCommands({ test_command: testCommand, regression_command: regressionCommand });
    const projectPath = await this.projectPaths.resolve(dto.project_path);
    const now = new Date();
    const session = this.sessions.create({
      id: randomUUID(),
      name: blankToNull(dto.name),
      projectPath,
      testCommand,
      regressionCommand,
      createdAt: now,
      updatedAt: now,
    });
    await this.sessions.insert(session);
    return session;
  }

  async list(page: PaginationQueryDto): Promise<[Session[], number]> {
    return this.sessions.findAndCount({
      order: { createdAt: 'DESC', id: 'DESC' },
      take: page.limit,
      skip: page.offset,
    });
  }

  /** The session, or 404 `session_not_found`. */
  async findOne(id: string): Promise<Session> {
    const session = await this.sessions.findOneBy({ id });
    if (!session) throw new DomainError(ErrorCode.SessionNotFound, `Session ${id} not found`);
    return session;
  }
}
