import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, Repository } from 'typeorm';
import { assertVisible, ownerFilter, Principal } from 'src/access';
import { Clock, DomainError, ErrorCode, invalidRequest, PaginationQueryDto } from 'src/common';
import { AppConfig } from 'src/config';
import { AtomicWriter, RowInsert, RowReader } from 'src/database';
import { IdempotencyClaim, writeWithAnswer } from 'src/idempotency';
import { CHILD_ISOLATION, ChildIsolation, usableBy } from 'src/process';
import { assertCommandsAllowed } from 'src/sessions/command-policy';
import { WorkspacesService } from 'src/workspaces';
import { CreateSessionDto } from 'src/sessions/dto/create-session.dto';
import { ProjectPathService } from 'src/sessions/project-path.service';
import { Isolation, Session } from 'src/sessions/session.entity';
import { toSessionResponse } from 'src/sessions/session.mapper';

export function sessionNotFound(id: string): DomainError {
  return new DomainError(ErrorCode.SessionNotFound, `Session ${id} not found`);
}

const blankToNull = (value: string | null | undefined): string | null =>
  value === undefined || value === null || value.trim() === '' ? null : value;

/** 400 `validation_failed` naming `field`, like the validation pipe's. */
function invalidField(field: string, message: string): DomainError {
  return invalidRequest(field, `${field}: ${message}`);
}

@Injectable()
export class SessionsService {
  private readonly rows: RowInsert<Session>;
  private readonly byId: RowReader<Session>;
  /** Every column's property: a session is read whole. */
  private readonly properties: (keyof Session)[];

  constructor(
    @InjectRepository(Session) private readonly sessions: Repository<Session>,
    private readonly projectPaths: ProjectPathService,
    @Inject(CHILD_ISOLATION) private readonly isolation: ChildIsolation,
    private readonly workspaces: WorkspacesService,
    private readonly config: AppConfig,
    private readonly writer: AtomicWriter,
    private readonly clock: Clock,
    @InjectDataSource() dataSource: DataSource,
  ) {
    this.rows = new RowInsert(dataSource, Session);
    this.byId = new RowReader(dataSource, Session, 'id');
    this.properties = dataSource
      .getMetadata(Session)
      .columns.map((column) => column.propertyName as keyof Session);
  }

  /**
   * Stores a session owned by the principal's key. Its commands are checked before its path
   * (`assertCommandsAllowed`: runnable without a shell, and within ALLOWED_COMMANDS for keys that
   * are not admin), so no command is refused later, task after task. Its isolation defaults to
   * `worktree` for a project inside a git work tree with a commit, `none` otherwise; `worktree`
   * elsewhere, or a `base_ref` that names no commit, is a 400, and so are `base_ref` and
   * `setup_command` without a workspace. With `claim` (the request's `Idempotency-Key`), the
   * answer is stored with the session, in its transaction.
   */
  async create(
    dto: CreateSessionDto,
    principal: Principal,
    claim: IdempotencyClaim | null = null,
  ): Promise<Session> {
    const testCommand = blankToNull(dto.test_command);
    const regressionCommand = blankToNull(dto.regression_command);
    const setupCommand = blankToNull(dto.setup_command);
    const baseRef = blankToNull(dto.base_ref);
    assertCommandsAllowed(
      {
        test_command: testCommand,
        regression_command: regressionCommand,
        setup_command: setupCommand,
      },
      principal,
      this.config.ALLOWED_COMMANDS,
    );
    const projectPath = this.projectPaths.resolve(dto.project_path);
    const repo = await this.workspaces.inspect(projectPath);
    const isolation: Isolation = dto.isolation ?? (repo?.head ? 'worktree' : 'none');
    const identity = this.isolation.identity;
    if (isolation === 'worktree') {
      if (repo === null) {
        throw invalidField(
          'isolation',
          `${projectPath} is not inside a git work tree${identity === null ? '' : ` that RUN_AS_USER ${identity.user} may use (git refuses a repository another user owns)`}; only isolation none works there`,
        );
      }
      this.assertUsable(repo.gitDir);
      await this.workspaces.resolveBase(repo, projectPath, baseRef);
    } else {
      this.assertUsable(projectPath);
      if (baseRef !== null) throw invalidField('base_ref', 'needs isolation worktree');
      if (setupCommand !== null) throw invalidField('setup_command', 'needs isolation worktree');
    }
    const now = this.clock.now();
    const session = this.sessions.create({
      id: randomUUID(),
      name: blankToNull(dto.name),
      projectPath,
      testCommand,
      regressionCommand,
      isolation,
      baseRef,
      setupCommand,
      requireFailingTests: dto.require_failing_tests ?? null,
      autoRespond: dto.auto_respond ?? null,
      humanTimeoutSeconds: dto.human_timeout_seconds ?? null,
      ownerKeyId: principal.keyId,
      createdAt: now,
      updatedAt: now,
    });
    await writeWithAnswer(this.writer, [this.rows.step(session)], claim, () =>
      toSessionResponse(session),
    );
    return session;
  }

  /**
   * 400 unless the children's user (RUN_AS_USER) may read, search and write `dir`: the agent
   * works in the project in place, git in the repository's git directory. Else its tasks would
   * fail at their first turn, for a reason far from the cause.
   */
  private assertUsable(dir: string): void {
    const who = this.isolation.identity;
    if (who === null || usableBy(dir, who)) return;
    throw new DomainError(
      ErrorCode.ProjectPathInvalid,
      `RUN_AS_USER ${who.user}, who runs the agent, its tests and git, may not write in ${dir}`,
      { project_path: dir.slice(0, 1000) },
    );
  }

  /** The sessions the principal may see, newest first. */
  async list(page: PaginationQueryDto, principal: Principal): Promise<[Session[], number]> {
    const owner = ownerFilter(principal);
    return this.sessions.findAndCount({
      where: owner === undefined ? {} : { ownerKeyId: owner },
      order: { createdAt: 'DESC', id: 'DESC' },
      take: page.limit,
      skip: page.offset,
    });
  }

  /** The session, or 404 `session_not_found`. */
  async findOne(id: string): Promise<Session> {
    const session = await this.read(id);
    if (!session) throw sessionNotFound(id);
    return session;
  }

  /** The session if the principal may see it, else 404 `session_not_found` (as if missing). */
  async findVisible(id: string, principal: Principal): Promise<Session> {
    return assertVisible(principal, await this.read(id), () => sessionNotFound(id));
  }

  private read(id: string): Promise<Session | null> {
    return this.byId.read(id, this.properties);
  }

  /**
   * Who owns the session; null when there is no such session. The id is read too: TypeORM makes
   * no entity of a row whose selected columns are all null (an unowned session).
   */
  async ownerOf(id: string): Promise<Pick<Session, 'ownerKeyId'> | null> {
    return this.sessions.findOne({ select: { id: true, ownerKeyId: true }, where: { id } });
  }
}
