export { SimulatedHumanModule } from 'src/simulated-human/simulated-human.module';
export {
  answeredByPerson,
  interventionLeft,
  POLICY_FAIL_REASONS,
} from 'src/simulated-human/simulated-human.policy';
export type {
  ContinueReason,
  Decision,
  PolicyFailReason,
  PolicyInput,
  PolicyPhase,
  TestSetupHint,
} from 'src/simulated-human/simulated-human.policy';
export { SimulatedHumanService } from 'src/simulated-human/simulated-human.service';
export type { TestReportSummary, TestRunLike } from 'src/simulated-human/test-report-summary';
