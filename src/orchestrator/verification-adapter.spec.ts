import { lastValueFrom, NEVER, Observable, of, toArray } from 'rxjs';
import { Task } from 'src/tasks';
import { TestRunEvent, TestRunnerService, TestRunReport } from 'src/test-runner';
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
    { projectPath: '/p', gitDir: null } as Task,
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

  describe('in a clean checkout of the change, with the regression suite', () => {
    const checkoutDir = '/tmp/cta-base-1/checkout/app';
    const testReport = (kind: TestRunReport['kind'], passed: boolean, output: string) => ({
      type: 'report' as const,
      report: {
        kind,
        command: ['node', '--test'],
        exitCode: passed ? 0 : 1,
        timedOut: false,
        durationMs: 1,
        output,
        cases: [],
        passed,
        invocations: [],
      },
    });

    /** The port's run on the commit, the generated tests passing or not; what ran, in order. */
    async function onCommit(generatedPass: boolean) {
      const calls: unknown[][] = [];
      const asked: string[] = [];
      const checkout: ScratchCheckout = {
        directory: checkoutDir,
        linkDependencies: () => ['/ws/app/node_modules'],
        remove: () => {
          calls.push(['removed']);
          return Promise.resolve();
        },
      };
      const base = {
        changeWithBaseFiles: (_d: string, _b: string, _r: string[], testFiles: string[]) => {
          calls.push(['checkout', testFiles]);
          return Promise.resolve(checkout);
        },
        packageManifests: () => Promise.resolve(['package.json', 'packages/api/package.json']),
      } as unknown as BaseCheckout;
      const tests = {
        runGenerated: (dir: string, files: string[], _c: unknown, readable: string[]) => {
          calls.push(['generated', dir, files, readable]);
          return of(testReport('generated', generatedPass, 'ok 1 - multiplies'));
        },
        runRegression: (dir: string, command: string, _env: unknown, readable: string[]) => {
          calls.push(['regression', dir, command, readable]);
          return of(testReport('regression', false, `not ok 1 - ${checkoutDir}/test/b.test.js\n`));
        },
      } as unknown as TestRunnerService;
      const events = await lastValueFrom(
        verificationPort(
          { projectPath: '/p', gitDir: null } as Task,
          {} as RegressionBaselines,
          base,
          tests,
          () => NEVER,
        )
          .runOnCommit(
            '/ws/app',
            'b0',
            ['test/a.test.js'],
            null,
            null,
            {},
            {
              command: 'node --test',
              again: (report) => {
                asked.push(report.output);
                return asked.length === 1 ? 'node --test test/b.test.js' : null;
              },
            },
          )
          .pipe(toArray()),
      );
      return { calls, asked, events };
    }

    it("runs it after the generated tests passed, in the same checkout, then again as asked; the reports after the checkout is gone, naming its paths as the workspace's", async () => {
      const { calls, asked, events } = await onCommit(true);
      expect(calls).toEqual([
        // Each package's dependencies linked too, for the suite that runs them all.
        ['checkout', ['test/a.test.js', 'package.json', 'packages/api/package.json']],
        ['generated', checkoutDir, ['test/a.test.js'], ['/ws/app/node_modules']],
        ['regression', checkoutDir, 'node --test', ['/ws/app/node_modules']],
        ['regression', checkoutDir, 'node --test test/b.test.js', ['/ws/app/node_modules']],
        ['removed'],
      ]);
      expect(asked).toEqual(['not ok 1 - /ws/app/test/b.test.js\n']);
      expect(events.map((e) => (e.type === 'report' ? e.report.kind : e.type))).toEqual([
        'generated',
        'regression',
        'regression',
      ]);
      const outputs = events.map((e) => (e.type === 'report' ? e.report.output : ''));
      expect(outputs.slice(1)).toEqual([
        'not ok 1 - /ws/app/test/b.test.js\n',
        'not ok 1 - /ws/app/test/b.test.js\n',
      ]);
    });

    it('does not run it when the generated tests failed there', async () => {
      const { calls, events } = await onCommit(false);
      expect(calls.map((c) => c[0])).toEqual(['checkout', 'generated', 'removed']);
      expect(events).toHaveLength(1);
    });
  });
});
