import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { DomainError, ErrorCode, PaginationQueryDto } from 'src/common';
import { splitCommandLine } from 'src/test-runner';
import { WorkspacesService } from 'src/workspaces';
import { CreateSessionDto } from 'src/sessions/dto/create-session.dto';
import { ProjectPathService } from 'src/sessions/project-path.service';
import { Isolation, Session } from 'src/sessions/session.entity';

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

/** 400 `validation_failed` naming `field`, like the validation pipe's. */
function invalidField(field: string, message: string): DomainError {
  return new DomainError(ErrorCode.ValidationFailed, `Invalid request: ${field}: ${message}`, {
    errors: [{ field, errors: [`${field}: ${message}`] }],
  });
}

@Injectable()
export class SessionsService {
  constructor(
    @InjectRepository(Session) private readonly sessions: Repository<Session>,
    private readonly projectPaths: ProjectPathService,
    private readonly workspaces: WorkspacesService,
  ) {}

  /**
   * Stores a session. Its isolation defaults to `worktree` for a project inside a git work tree
   * with a commit, `none` otherwise; `worktree` elsewhere, or a `base_ref` that names no commit,
   * is a 400, and so are `base_ref` and `setup_command` without a workspace.
   */
  async create(dto: CreateSessionDto): Promise<Session> {
    const testCommand = blankToNull(dto.test_command);
    const regressionCommand = blankToNull(dto.regression_command);
    const setupCommand = blankToNull(dto.setup_command);
    const baseRef = blankToNull(dto.base_ref);
    assertRunnableCommands({
      test_command: testCommand,
      regression_command: regressionCommand,
      setup_command: setupCommand,
    });
    const projectPath = await this.projectPaths.resolve(dto.project_path);
    if (this.workspaces.isInsideWorkspaces(projectPath)) {
      throw new DomainError(
        ErrorCode.ProjectPathInvalid,
        'project_path lies inside WORKSPACES_DIR, where the task workspaces are',
        { project_path: dto.project_path.slice(0, 1000) },
      );
    }
    const repo = await this.workspaces.inspect(projectPath);
    const isolation: Isolation = dto.isolation ?? (repo?.head ? 'worktree' : 'none');
    if (isolation === 'worktree') {
      if (repo === null) {
        throw invalidField(
          'isolation',
          `${projectPath} is not inside a git work tree; only isolation none works there`,
        );
      }
      await this.workspaces.resolveBase(repo, projectPath, baseRef);
    } else {
      if (baseRef !== null) throw invalidField('base_ref', 'needs isolation worktree');
      if (setupCommand !== null) throw invalidField('setup_command', 'needs isolation worktree');
    }
    const now = new Date();
    const session = this.sessions.create({
      id: randomUUID(),
      name: blankToNull(dto.name),
      projectPath,
      testCommand,
      regressionCommand,
      isolation,
      baseRef,
      setupCommand,
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
