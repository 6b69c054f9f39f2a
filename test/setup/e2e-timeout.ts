/**
 * setupFilesAfterEnv of the e2e project: 60 s per test and hook. (Jest 29 ignores `testTimeout`
 * inside a `projects` entry, with an "Unknown option" warning.) A file may still raise it with its
 * own `jest.setTimeout`.
 */
jest.setTimeout(60_000);
