/** Three tiers, all run by `npm test`: unit (next to the code), e2e (real AppModule, real
 * databases, real child processes) and contract (the real Claude Code CLI against a mock API). */
const common = {
  moduleFileExtensions: ['js', 'json', 'ts'],
  rootDir: __dirname,
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': 'ts-jest' },
  moduleNameMapper: {
    '^src/(.*)$': '<rootDir>/src/$1',
    '^test/(.*)$': '<rootDir>/test/$1',
    '^migrations/(.*)$': '<rootDir>/migrations/$1',
    '^sdk/(.*)$': '<rootDir>/sdk/$1',
  },
};

// Some machines export NODE_EXTRA_CA_CERTS (a CA bundle for proxies): every Node process then
// parses the whole bundle as it starts, about 40 ms of CPU each on a 2-core AMD EPYC (103 against
// 63 ms for `node -e ''`), and the suite starts some two thousand (the fake agent, `node --test`
// and its file runners, built servers). Nothing here speaks TLS (the mock Anthropic API is plain
// HTTP on loopback), so the workers and their children go without it.
delete process.env.NODE_EXTRA_CA_CERTS;

module.exports = {
  // Two test files at a time even on a 2-core machine (Jest's default there is one): an e2e
  // file's own process mostly waits, on child processes, timers and the database. With two, the
  // children keep both cores busy (1-2 % idle through a run, 2026-12-06). Three were tried (1859
  // tests, 2 cores): 549 s against 593 s in a checkout Jest had timed before, but 660 s in a fresh
  // clone, where the longest file stretched under the contention.
  maxWorkers: 2,
  projects: [
    // `testTimeout` is a global option (ignored inside a project, with an "Unknown option"
    // warning): each project sets its time limit in a setup file instead.
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/src/**/*.spec.ts'],
      setupFilesAfterEnv: ['<rootDir>/test/setup/unit-timeout.ts'],
    },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      setupFilesAfterEnv: ['<rootDir>/test/setup/e2e-timeout.ts'],
    },
    {
      ...common,
      displayName: 'contract',
      testMatch: ['<rootDir>/test/**/*.contract-spec.ts'],
      setupFilesAfterEnv: ['<rootDir>/test/setup/contract-timeout.ts'],
    },
  ],
};
