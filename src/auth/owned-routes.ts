import { Injectable } from '@nestjs/common';
import { assertVisible, isAdmin, Owned, Principal } from 'src/access';
import { API_PREFIX, DomainError } from 'src/common';
import { sessionNotFound, SessionsService } from 'src/sessions';
import { taskNotFound, TasksService } from 'src/tasks';

interface OwnedRoute {
  /** Matches the Express route path of the routes about one such object. */
  path: RegExp;
  owner(id: string): Promise<Owned | null>;
  notFound(id: string): DomainError;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * OWNERSHIP OF EVERY ROUTE ABOUT ONE SESSION OR TASK, applied by the auth guard before the route
 * runs: a route whose path starts with `/api/v1/tasks/:id` or `/api/v1/sessions/:id` (any method,
 * any suffix: `/status`, `/cancel`, `/events`, routes added later) answers the route's own 404
 * to a non-admin key that does not own the object, exactly as if it did not exist. An `:id` that
 * is not a UUID is left to the route's pipe (400 `invalid_id`).
 */
@Injectable()
export class OwnedRoutes {
  private readonly routes: OwnedRoute[];

  constructor(tasks: TasksService, sessions: SessionsService) {
    this.routes = [
      {
        path: new RegExp(`^/${API_PREFIX}/tasks/:id(/|$)`),
        owner: (id) => tasks.ownerOf(id),
        notFound: taskNotFound,
      },
      {
        path: new RegExp(`^/${API_PREFIX}/sessions/:id(/|$)`),
        owner: (id) => sessions.ownerOf(id),
        notFound: sessionNotFound,
      },
    ];
  }

  /** Throws the route's not-found error when the principal may not see the route's object. */
  async check(routePath: string | undefined, id: unknown, principal: Principal): Promise<void> {
    if (isAdmin(principal) || routePath === undefined) return;
    const route = this.routes.find((r) => r.path.test(routePath));
    if (route === undefined || typeof id !== 'string' || !UUID.test(id)) return;
    const key = id.toLowerCase();
    assertVisible(principal, await route.owner(key), () => route.notFound(key));
  }
}
