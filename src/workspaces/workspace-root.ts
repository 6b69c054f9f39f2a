import { chownSync, mkdirSync, realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import { AppConfig } from 'src/config';
import { CHILD_ISOLATION, ChildIsolation } from 'src/process';

/** A task id as workspace directories are named: a lower-case UUID. */
const WORKSPACE_NAME = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A workspace being removed is renamed so first (`.removing-<task id>`). */
const REMOVING_PREFIX = '.removing-';

/**
 * WORKSPACES_DIR, created at start and canonical (symlinks resolved, so the agent's working
 * directory is checked exactly). Each task's workspace is the directory named after its id
 * directly inside it; besides, the server keeps its copies of the repositories' git
 * configuration there (`GitConfigCopies`). Nothing else in it is ever touched, and nothing
 * outside it is ever removed.
 * With RUN_AS_USER it belongs to that user: git creates the workspaces in it as the children's
 * user, and the agent and its tests write there.
 */
@Injectable()
export class WorkspaceRoot {
  readonly path: string;

  constructor(config: AppConfig, @Inject(CHILD_ISOLATION) isolation: ChildIsolation) {
    const wanted = resolve(process.cwd(), config.WORKSPACES_DIR);
    mkdirSync(wanted, { recursive: true });
    this.path = realpathSync(wanted);
    if (dirname(this.path) === this.path) {
      throw new Error(`WORKSPACES_DIR must not be the root directory (${this.path})`);
    }
    const owner = isolation.identity;
    if (owner !== null) chownSync(this.path, owner.uid, owner.gid);
  }

  /** The workspace directory of task `taskId`. */
  pathFor(taskId: string): string {
    if (!WORKSPACE_NAME.test(taskId)) throw new Error(`not a task id: ${taskId}`);
    return join(this.path, taskId);
  }

  /** True when `path` is a workspace directory: named like one, directly inside the root. */
  isWorkspacePath(path: string): boolean {
    return dirname(path) === this.path && WORKSPACE_NAME.test(basename(path));
  }

  /**
   * Where workspace `path` goes while it is removed: beside it (in the WORKSPACES_DIR it lies in,
   * this server's or another instance's), so the rename is atomic and a removal cut off is
   * finished by that directory's sweep, and named so that it is never taken for a workspace.
   */
  removingPathFor(path: string): string {
    return join(dirname(path), `${REMOVING_PREFIX}${basename(path)}`);
  }

  /** The task id of a directory entry named like a workspace being removed; null for another. */
  static removingTaskId(name: string): string | null {
    const id = name.slice(REMOVING_PREFIX.length);
    return name.startsWith(REMOVING_PREFIX) && WORKSPACE_NAME.test(id) ? id : null;
  }

  /** True when `path` is the root or lies below it. */
  contains(path: string): boolean {
    return path === this.path || path.startsWith(`${this.path}/`);
  }

  /** True for a directory entry named like a workspace. */
  static isWorkspaceName(name: string): boolean {
    return WORKSPACE_NAME.test(name);
  }
}
