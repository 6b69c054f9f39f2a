import { Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { AppConfig } from 'src/config';
import { ApiAccessGuard } from 'src/auth/api-access.guard';
import { ApiKeysService } from 'src/auth/api-keys.service';
import { ApiThrottlerGuard } from 'src/auth/api-throttler.guard';
import { OwnedRoutes } from 'src/auth/owned-routes';

class Routes {
  status(): void {}

  other(): void {}
}

/** The guard's verdict per request and handler; what it judges is covered end to end. */
describe('ApiAccessGuard verdicts', () => {
  const required = jest.fn(() => Promise.resolve(false));
  const guard = new ApiAccessGuard(
    new Reflector(),
    { AUTH_REQUIRED: undefined } as unknown as AppConfig,
    { required, knownRequired: () => undefined } as unknown as ApiKeysService,
    {} as ApiThrottlerGuard,
    {} as OwnedRoutes,
  );
  const contextOf = (req: object, handler: () => void) => {
    const context = new ExecutionContextHost([req, {}, () => undefined], Routes, handler);
    context.setType('http');
    return context;
  };

  beforeEach(() => required.mockClear());

  it('judges a request once for its route, however often it is asked', async () => {
    const req = { headers: {} };
    const first = guard.canActivate(contextOf(req, Routes.prototype.status));
    const again = guard.canActivate(contextOf(req, Routes.prototype.status));
    expect(again).toBe(first);
    await expect(first).resolves.toBe(true);
    expect(required).toHaveBeenCalledTimes(1);
  });

  it('judges afresh for another route and for another request', async () => {
    const req = { headers: {} };
    await guard.canActivate(contextOf(req, Routes.prototype.status));
    await guard.canActivate(contextOf(req, Routes.prototype.other));
    await guard.canActivate(contextOf({ headers: {} }, Routes.prototype.other));
    expect(required).toHaveBeenCalledTimes(3);
  });
});
