import { Module } from '@nestjs/common';
import { ProcessModule } from 'src/process';
import { TestCommandRunner } from 'src/test-runner/test-command-runner';
import { TestFileFinder } from 'src/test-runner/test-file-finder';
import { TestRunSlots } from 'src/test-runner/test-run-slots';
import { TestRunnerService } from 'src/test-runner/test-runner.service';

/**
 * Finds and runs the tests the agent wrote, and the project's regression command, at most
 * MAX_CONCURRENT_TEST_RUNS runs at once.
 */
@Module({
  imports: [ProcessModule],
  providers: [TestCommandRunner, TestFileFinder, TestRunSlots, TestRunnerService],
  exports: [TestRunnerService, TestCommandRunner],
})
export class TestRunnerModule {}
