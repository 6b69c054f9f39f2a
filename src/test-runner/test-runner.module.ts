import { Module } from '@nestjs/common';
import { ProcessModule } from 'src/process';
import { TestCommandRunner } from 'src/test-runner/test-command-runner';
import { TestFileFinder } from 'src/test-runner/test-file-finder';
import { TestRunnerService } from 'src/test-runner/test-runner.service';

/** Finds and runs the tests the agent wrote, and the project's regression command. */
@Module({
  imports: [ProcessModule],
  providers: [TestCommandRunner, TestFileFinder, TestRunnerService],
  exports: [TestRunnerService],
})
export class TestRunnerModule {}
