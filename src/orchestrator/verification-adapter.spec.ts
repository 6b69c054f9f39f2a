import { lastValueFrom, NEVER, Observable } from 'rxjs';
import { Task } from 'src/tasks';
import { TestRunEvent, TestRunnerService } from 'src/test-runner';
import { BaseCheckout, GitCommandError, ScratchCheckout } from 'src/workspaces';
import { ScratchCheckoutError } from 'src/orchestrator/run/scratch-checkout-error';
import { RegressionBaselines } from 'src/orchestrator/regression-baselines.repository';
import { verificationPort } from 'src/orchestrator/verification-adapter';

/** The port over a `BaseCheckout` whose checkouts are `made`, and tests that ran, by directory. */
function port(made: () => Promise<ScratchCheckout>, ran: string[] = []) {
  const base = { checkout: made, changeWithBaseFiles: made } as unknown as BaseCheckout;
  const tests = {
    runGenerated: (directory: string): Observable<TestRunEvent> => {
      ran.push(directory);
      return NEVER;
    },
  } as unknown as TestRunnerService;
  return verificationPort(
    { projectPath: '/p' } as Task,
    {} as RegressionBaselines,
    base,
    tests,
    () => NEVER,
  );
}

const atBase = (made: () => Promise<ScratchCheckout>, ran?: string[]) =>
  lastValueFrom(port(made, ran).runAtBase('/ws/app', 'b0', ['a.test.js'], null, [], null, {}));

describe('verificationPort', () => {
  it('fails a run whose scratch checkout git could not make with a ScratchCheckoutError saying why', async () => {
    const git = new GitCommandError(
      ['worktree', 'add'],
      'git worktree add failed (exit 128): fatal: could not create leading directories',
    );
    const error = await atBase(() => Promise.reject(git)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScratchCheckoutError);
    expect(error).toMatchObject({
      reason: 'git worktree add failed (exit 128): fatal: could not create leading directories',
      cause: git,
    });
  });

  it('fails a run whose checkout cannot have the dependencies linked the same way, the checkout removed', async () => {
    let removed = 0;
    const ran: string[] = [];
    const checkout: ScratchCheckout = {
      directory: '/tmp/cta-base-1/checkout/app',
      linkDependencies: () => {
        throw new Error("EACCES: permission denied, scandir '/ws/node_modules'");
      },
      remove: () => {
        removed += 1;
        return Promise.resolve();
      },
    };
    const error = await atBase(() => Promise.resolve(checkout), ran).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScratchCheckoutError);
    expect((error as ScratchCheckoutError).reason).toBe(
      "EACCES: permission denied, scandir '/ws/node_modules'",
    );
    expect(ran).toEqual([]);
    expect(removed).toBe(1);
  });
});
