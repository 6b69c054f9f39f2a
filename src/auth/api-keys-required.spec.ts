import { Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import type { DataSource, Repository } from 'typeorm';
import { LOCAL_PRINCIPAL, MonitorRoute, Principal } from 'src/access';
import { Clock } from 'src/common';
import { AppConfig } from 'src/config';
import { ApiAccessGuard } from 'src/auth/api-access.guard';
import type { ApiKey } from 'src/auth/api-key.entity';
import { ApiKeysService } from 'src/auth/api-keys.service';
import { ApiThrottlerGuard } from 'src/auth/api-throttler.guard';
import { KeyRevocations } from 'src/auth/key-revocations';
import { OwnedRoutes } from 'src/auth/owned-routes';

/** A clock that moves only when told. */
class StoppedClock extends Clock {
  ms = 1_000_000;

  override nowMs(): number {
    return this.ms;
  }
}

/** The service over a key table whose `exists` answers with `answer()`, on a stopped clock. */
function serviceAnswering(answer: () => Promise<boolean>) {
  const exists = jest.fn(answer);
  const clock = new StoppedClock();
  const dataSource = { getMetadata: () => ({}) } as unknown as DataSource;
  const keys = new ApiKeysService(
    { exists } as unknown as Repository<ApiKey>,
    dataSource,
    clock,
    new KeyRevocations(),
  );
  return { keys, exists, clock };
}

/** "Are keys required?": what it answers without the database, and when it must ask it. */
describe('ApiKeysService.knownRequired', () => {
  const setUp = (keysExist: boolean) => serviceAnswering(() => Promise.resolve(keysExist));

  it('answers AUTH_REQUIRED when it is set, without the database', () => {
    const { keys, exists } = setUp(true);
    expect(keys.knownRequired(false)).toBe(false);
    expect(keys.knownRequired(true)).toBe(true);
    expect(exists).not.toHaveBeenCalled();
  });

  it('cannot tell before the first check; then "no key" holds for a second', async () => {
    const { keys, exists, clock } = setUp(false);
    expect(keys.knownRequired(undefined)).toBeUndefined();
    await expect(keys.required(undefined)).resolves.toBe(false);
    expect(keys.knownRequired(undefined)).toBe(false);
    clock.ms += 999;
    expect(keys.knownRequired(undefined)).toBe(false);
    clock.ms += 1;
    expect(keys.knownRequired(undefined)).toBeUndefined();
    expect(exists).toHaveBeenCalledTimes(1);
  });

  it('answers "required" for good once a key was seen', async () => {
    const { keys, clock } = setUp(true);
    await expect(keys.required(undefined)).resolves.toBe(true);
    clock.ms += 3_600_000;
    expect(keys.knownRequired(undefined)).toBe(true);
  });
});

class MonitoredRoutes {
  @MonitorRoute()
  metrics(): void {}
}

/**
 * "Are keys required?" while the database fails: a monitoring route (`/metrics`, `/health`) takes
 * the last answer given, so it can report the failure; before any answer there is none to take.
 * Answering "no key needed" then would let the guard make the request the `local` principal, an
 * admin, on a server that requires keys.
 */
describe('ApiKeysService.required while the database fails', () => {
  const down = new Error('SQLITE_CANTOPEN: unable to open database file');
  const setUp = (answers: (() => Promise<boolean>)[]) => serviceAnswering(() => answers.shift()!());

  it('fails a monitoring route with the error before the first check, rather than answer "not required"', async () => {
    const { keys } = setUp([() => Promise.reject(down)]);
    await expect(keys.required(undefined, true)).rejects.toBe(down);
  });

  it('answers a monitoring route with the last answer once one was given; other routes fail', async () => {
    const { keys, clock } = setUp([
      () => Promise.resolve(false),
      () => Promise.reject(down),
      () => Promise.reject(down),
    ]);
    await expect(keys.required(undefined)).resolves.toBe(false);
    clock.ms += 1_000;
    await expect(keys.required(undefined, true)).resolves.toBe(false);
    await expect(keys.required(undefined)).rejects.toBe(down);
  });

  it('never gives a monitoring request the local (admin) principal when the database fails before the first check', async () => {
    const { keys } = setUp([() => Promise.reject(down)]);
    const guard = new ApiAccessGuard(
      new Reflector(),
      { AUTH_REQUIRED: undefined, RATE_LIMIT_PER_MINUTE: 0 } as unknown as AppConfig,
      keys,
      {} as ApiThrottlerGuard,
      {} as OwnedRoutes,
    );
    const req: { headers: object; principal?: Principal } = { headers: {} };
    const context = new ExecutionContextHost(
      [req, {}, () => undefined],
      MonitoredRoutes,
      MonitoredRoutes.prototype.metrics,
    );
    context.setType('http');
    await expect(guard.canActivate(context)).rejects.toBe(down);
    expect(req.principal).not.toEqual(LOCAL_PRINCIPAL);
  });
});
