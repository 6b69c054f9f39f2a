/**
 * setupFilesAfterEnv of the e2e project: 5 minutes per test and hook. (Jest 29 ignores
 * `testTimeout` inside a `projects` entry, with an "Unknown option" warning.) This is a guard
 * against a hang, not a budget: tests wait for events (`waitForTerminal` fails a task that shows
 * no progress, `eventually` a condition that never comes), so a loaded machine makes them slower,
 * never red.
 */
jest.setTimeout(300_000);
