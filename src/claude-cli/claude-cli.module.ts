import { Module } from '@nestjs/common';
import { ProcessModule } from 'src/process';
import { ClaudeCliRunner } from 'src/claude-cli/claude-cli-runner.service';
import { CliAvailabilityService } from 'src/claude-cli/cli-availability.service';

/** Talks to the Claude Code CLI: runs agent turns and knows whether the CLI is installed. */
@Module({
  imports: [ProcessModule],
  providers: [ClaudeCliRunner, CliAvailabilityService],
  exports: [ClaudeCliRunner, CliAvailabilityService],
})
export class ClaudeCliModule {}
