export { formatCommandLine, splitCommandLine } from 'src/test-runner/command-line';
export {
  isPythonTestModule,
  isTestConfigFile,
  isTestFile,
  PYTEST_CONFIG_SECTIONS,
  testConfigFileKind,
  testSupportRoot,
} from 'src/test-runner/test-file-patterns';
export type { TestConfigFileKind } from 'src/test-runner/test-file-patterns';
export { ignoredAmong, parsePorcelainV2 } from 'src/test-runner/test-file-finder';
export { jsTestConfigFiles } from 'src/test-runner/js-test-config';
export {
  changedDependencies,
  DEPENDENCY_DIRS,
  markDependencies,
  MAX_DEPENDENCY_ENTRIES,
} from 'src/test-runner/installed-dependencies';
export type { DependencyChanges, DependencyMark } from 'src/test-runner/installed-dependencies';
export type { ProjectChanges, ProjectSnapshot } from 'src/test-runner/test-file-finder';
export { TestCommandRunner } from 'src/test-runner/test-command-runner';
export type { CommandEvent, CommandResult } from 'src/test-runner/test-command-runner';
export { TestRunnerModule } from 'src/test-runner/test-runner.module';
export { TestRunnerService, UnsafeTestFileError } from 'src/test-runner/test-runner.service';
export type { TestCaseStatus } from 'src/test-runner/command-end';
export type { TestCaseResult } from 'src/test-runner/test-case-results';
export type { TestRunEvent, TestRunReport, TestSetup } from 'src/test-runner/test-runner.service';
export { summarizeTestOutput } from 'src/test-runner/test-output-summary';
export type { TestOutputSummary } from 'src/test-runner/test-output-summary';
export { cargoTestSettings } from 'src/test-runner/cargo-config';
export { holdsRustTests, isRustSource } from 'src/test-runner/rust-test-files';
export { countProbes, holdsTestProbe, probeLanguage } from 'src/test-runner/test-probes';
export { pytestArgsStart } from 'src/test-runner/regression-report';
export type { RegressionTest } from 'src/test-runner/regression-report';
