import { Logger } from '@nestjs/common';
import { Observable, Subscription } from 'rxjs';
import { Task } from 'src/tasks';
import { TestRunEvent, TestRunnerService } from 'src/test-runner';
import { BaseCheckout, ScratchCheckout } from 'src/workspaces';
import { VerificationPort } from 'src/orchestrator/run/run-ports';
import { RegressionBaselines } from 'src/orchestrator/regression-baselines.repository';

const logger = new Logger('Verification');

/**
 * Runs test files as generated tests are run in a scratch checkout (`made`): created, the tests
 * run, removed, then the report. Unsubscribing ends the tests and removes the checkout.
 */
function runInScratch(
  made: () => Promise<ScratchCheckout>,
  tests: TestRunnerService,
  args: { files: readonly string[]; testCommand: string | null },
): Observable<TestRunEvent> {
  return new Observable<TestRunEvent>((subscriber) => {
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
        let report: TestRunEvent | null = null;
        inner = tests
          .runGenerated(made.directory, args.files, args.testCommand, made.dependencies)
          .subscribe({
            next: (event) => {
              if (event.type === 'report') report = event;
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
                  if (report !== null) subscriber.next(report);
                  subscriber.complete();
                },
                (error: unknown) => subscriber.error(error),
              );
            },
          });
      },
      (error: unknown) => subscriber.error(error),
    );
    return () => {
      closed = true;
      inner?.unsubscribe();
      remove().catch((error: unknown) => logger.warn(`scratch checkout: ${String(error)}`));
    };
  });
}

/** The run's `VerificationPort` for `task`: stored baselines, git against the base commit, tests. */
export function verificationPort(
  task: Task,
  baselines: RegressionBaselines,
  base: BaseCheckout,
  tests: TestRunnerService,
): VerificationPort {
  const key = (baseCommit: string, command: string) => ({
    projectPath: task.projectPath,
    baseCommit,
    command,
  });
  return {
    findBaseline: (baseCommit, command) => baselines.find(key(baseCommit, command)),
    saveBaseline: (baseCommit, command, run) => baselines.save(key(baseCommit, command), run),
    testChanges: (directory, baseCommit, configFiles) =>
      base.testChanges(directory, baseCommit, configFiles),
    ignoredFiles: (directory, files) => base.ignoredFiles(directory, files),
    runAtBase: (directory, baseCommit, files, testCommand, support) =>
      runInScratch(
        () => base.checkout(directory, baseCommit, [...files, ...support], files),
        tests,
        {
          files,
          testCommand,
        },
      ),
    runBaseTests: (directory, baseCommit, files, restore, testCommand, on) =>
      runInScratch(
        () =>
          on === 'change'
            ? base.changeWithBaseFiles(directory, baseCommit, [...files, ...restore], files)
            : base.checkout(directory, baseCommit, [], files),
        tests,
        { files, testCommand },
      ),
    runOnCommit: (directory, baseCommit, files, testCommand) =>
      runInScratch(() => base.changeWithBaseFiles(directory, baseCommit, [], files), tests, {
        files,
        testCommand,
      }),
  };
}
