import { Logger } from '@nestjs/common';
import {
  catchError,
  concat,
  concatMap,
  defer,
  EMPTY,
  map,
  Observable,
  of,
  Subscription,
} from 'rxjs';
import { Task } from 'src/tasks';
import { CommandEvent, TestRunEvent, TestRunnerService } from 'src/test-runner';
import { BaseCheckout, GitPlace, gitPlaceOf, ScratchCheckout } from 'src/workspaces';
import {
  OnCommitRegression,
  ScratchRunEvent,
  VerificationPort,
} from 'src/orchestrator/run/run-ports';
import { setupPassed } from 'src/orchestrator/run/run-workspace';
import { ScratchCheckoutError } from 'src/orchestrator/run/scratch-checkout-error';
import { RegressionBaselines } from 'src/orchestrator/regression-baselines.repository';

const logger = new Logger('Verification');

/** Runs a session's setup command in a directory (`WorkspacesService.runSetup`). */
export type SetupRunner = (directory: string, command: string) => Observable<CommandEvent>;

/**
 * Runs `work` in a scratch checkout (`made`): created, the work run, removed, then its reports
 * (held back until the checkout is gone, then emitted in the order they were made). Unsubscribing ends the work and removes the checkout;
 * so does an error, before it is passed on. A checkout that cannot be made is a
 * `ScratchCheckoutError`.
 */
function runInScratch<E extends { type: string }>(
  made: () => Promise<ScratchCheckout>,
  work: (checkout: ScratchCheckout) => Observable<E>,
): Observable<E> {
  return new Observable<E>((subscriber) => {
    let checkout: ScratchCheckout | null = null;
    let removal: Promise<void> | null = null;
    let inner: Subscription | null = null;
    let closed = false;
    const remove = (): Promise<void> => {
      if (checkout === null) return Promise.resolve();
      removal ??= checkout.remove();
      return removal;
    };
    made().then(
      (made) => {
        checkout = made;
        if (closed) {
          remove().catch((error: unknown) => logger.warn(`scratch checkout: ${String(error)}`));
          return;
        }
        const reports: E[] = [];
        inner = defer(() => work(made)).subscribe({
          next: (event) => {
            if (event.type === 'report') reports.push(event);
            else subscriber.next(event);
          },
          error: (error: unknown) => {
            remove().then(
              () => subscriber.error(error),
              () => subscriber.error(error),
            );
          },
          complete: () => {
            remove().then(
              () => {
                for (const report of reports) subscriber.next(report);
                subscriber.complete();
              },
              (error: unknown) => subscriber.error(error),
            );
          },
        });
      },
      (error: unknown) => subscriber.error(new ScratchCheckoutError(error)),
    );
    return () => {
      closed = true;
      inner?.unsubscribe();
      remove().catch((error: unknown) => logger.warn(`scratch checkout: ${String(error)}`));
    };
  });
}

/** The workspace's dependencies linked into `checkout`; failing, a `ScratchCheckoutError`. */
function linkedDependencies(checkout: ScratchCheckout): readonly string[] {
  try {
    return checkout.linkDependencies();
  } catch (error) {
    throw new ScratchCheckoutError(error);
  }
}

/** The tests to run in a scratch checkout of the change or of the base commit. */
interface ScratchTests {
  /** Run as generated tests are. */
  files: readonly string[];
  testCommand: string | null;
  /** Run after the generated tests, when they passed (`OnCommitRegression`). */
  regression: OnCommitRegression | null;
  /** The workspace's project directory, whose paths the regression reports name. */
  directory: string;
}

/**
 * The regression suite in `checkout` as `OnCommitRegression` says: its reports' output naming the
 * checkout's paths as the workspace's (`directory`).
 */
function regressionIn(
  checkout: ScratchCheckout,
  tests: TestRunnerService,
  regression: OnCommitRegression,
  directory: string,
  readable: readonly string[],
  env: Record<string, string>,
): Observable<TestRunEvent> {
  const asWorkspace = (event: TestRunEvent): TestRunEvent =>
    event.type !== 'report'
      ? event
      : {
          type: 'report',
          report: {
            ...event.report,
            output: event.report.output.split(`${checkout.directory}/`).join(`${directory}/`),
          },
        };
  const run = (command: string): Observable<TestRunEvent> =>
    tests.runRegression(checkout.directory, command, env, readable).pipe(map(asWorkspace));
  return run(regression.command).pipe(
    concatMap((event) => {
      if (event.type !== 'report') return of(event);
      const again = regression.again(event.report);
      return again === null
        ? of(event)
        : concat(
            of(event),
            defer(() => run(again)),
          );
    }),
    // The generated tests' report stands: the verification says the suite could not be run.
    catchError((error: unknown) => {
      logger.warn(`the regression suite in a clean checkout of the change: ${String(error)}`);
      return EMPTY;
    }),
  );
}

/**
 * The tests run in `checkout`, with the workspace's dependencies linked and `env` added to their
 * environment (the agent's git guard: they are the agent's code): the generated tests, then the
 * regression suite when asked and they passed.
 */
function testsIn(
  checkout: ScratchCheckout,
  tests: TestRunnerService,
  run: ScratchTests,
  env: Record<string, string>,
): Observable<TestRunEvent> {
  const readable = linkedDependencies(checkout);
  const generated$ = tests.runGenerated(
    checkout.directory,
    run.files,
    run.testCommand,
    readable,
    env,
  );
  const { regression } = run;
  if (regression === null) return generated$;
  return generated$.pipe(
    concatMap((event) => {
      if (event.type !== 'report' || !event.report.passed) return of(event);
      return concat(
        of(event),
        defer(() => regressionIn(checkout, tests, regression, run.directory, readable, env)),
      );
    }),
  );
}

/**
 * The session's setup command run in `checkout` (as in a new workspace), then, when it passed,
 * the tests as `testsIn` runs them (dependencies linked where it made none); no tests after a
 * failed setup. Without a setup command, the tests alone.
 */
function setUpThenTests(
  checkout: ScratchCheckout,
  tests: TestRunnerService,
  runSetup: SetupRunner,
  setupCommand: string | null,
  run: ScratchTests,
  env: Record<string, string>,
): Observable<ScratchRunEvent> {
  if (setupCommand === null) return testsIn(checkout, tests, run, env);
  return runSetup(checkout.directory, setupCommand).pipe(
    concatMap((event): Observable<ScratchRunEvent> => {
      const setup = of<ScratchRunEvent>({ type: 'setup', event });
      if (event.type !== 'finished' || !setupPassed(event.result)) return setup;
      return concat(
        setup,
        defer(() => testsIn(checkout, tests, run, env)),
      );
    }),
  );
}

/** The run's `VerificationPort` for `task`: stored baselines, git against the base commit, tests. */
export function verificationPort(
  task: Task,
  baselines: RegressionBaselines,
  base: BaseCheckout,
  tests: TestRunnerService,
  runSetup: SetupRunner,
): VerificationPort {
  const inCheckout =
    (setupCommand: string | null, run: ScratchTests, env: Record<string, string>) =>
    (checkout: ScratchCheckout): Observable<ScratchRunEvent> =>
      setUpThenTests(checkout, tests, runSetup, setupCommand, run, env);
  const key = (baseCommit: string, command: string) => ({
    projectPath: task.projectPath,
    baseCommit,
    command,
  });
  // The task's worktree's git, pinned: never a `.git` its agent wrote (`gitPlaceOf`).
  const at = (directory: string): GitPlace => gitPlaceOf(directory, task.gitDir);
  return {
    findBaseline: (baseCommit, command) => baselines.find(key(baseCommit, command)),
    saveBaseline: (baseCommit, command, run) => baselines.save(key(baseCommit, command), run),
    testChanges: (directory, baseCommit, configFiles) =>
      base.testChanges(at(directory), baseCommit, configFiles),
    ignoredFiles: (directory, files) => base.ignoredFiles(at(directory), files),
    runAtBase: (directory, baseCommit, files, testCommand, support, setupCommand, env) =>
      runInScratch(
        () => base.checkout(at(directory), baseCommit, [...files, ...support], files),
        inCheckout(setupCommand, { files, testCommand, regression: null, directory }, env),
      ),
    runBaseTests: (directory, baseCommit, files, restore, testCommand, on, setupCommand, env) =>
      runInScratch(
        () =>
          on === 'change'
            ? base.changeWithBaseFiles(at(directory), baseCommit, [...files, ...restore], files)
            : base.checkout(at(directory), baseCommit, [], files),
        inCheckout(setupCommand, { files, testCommand, regression: null, directory }, env),
      ),
    runOnCommit: (directory, baseCommit, files, testCommand, setupCommand, env, regression) =>
      runInScratch(
        async () =>
          base.changeWithBaseFiles(
            at(directory),
            baseCommit,
            [],
            // The regression suite runs every package's tests: each package's dependencies too.
            regression === null
              ? files
              : [...files, ...(await base.packageManifests(at(directory)))],
          ),
        inCheckout(setupCommand, { files, testCommand, regression, directory }, env),
      ),
  };
}
