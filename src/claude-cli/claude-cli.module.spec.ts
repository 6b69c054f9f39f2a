import { join } from 'node:path';
import { Test } from '@nestjs/testing';
import { ClaudeCliModule } from 'src/claude-cli/claude-cli.module';
import { CLAUDE_CLI_PARENT_ENV, ClaudeCliRunner } from 'src/claude-cli/claude-cli-runner.service';
import { CliAvailabilityService } from 'src/claude-cli/cli-availability.service';
import { AppConfig, loadConfig } from 'src/config/app-config';
import { ConfigModule } from 'src/config/config.module';

const FAKE = join(__dirname, '..', '..', 'test', 'fixtures', 'fake-claude', 'claude');

describe('ClaudeCliModule', () => {
  it('provides the runner and checks the CLI version at init', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [ConfigModule, ClaudeCliModule] })
      .overrideProvider(AppConfig)
      .useValue(loadConfig({ CLAUDE_CLI_COMMAND: FAKE }))
      .compile();
    await moduleRef.init();
    expect(moduleRef.get(ClaudeCliRunner)).toBeInstanceOf(ClaudeCliRunner);
    expect(moduleRef.get(CliAvailabilityService).status()).toEqual({
      command: FAKE,
      available: true,
      version: '2.1.197',
      error: null,
    });
    await moduleRef.close();
  });

  it('filters the CLI environment from the injected parent environment', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [ConfigModule, ClaudeCliModule],
      providers: [],
    })
      .overrideProvider(AppConfig)
      .useValue(
        loadConfig({
          CLAUDE_CLI_COMMAND: 'missing-claude',
          CLAUDE_CLI_ENV_PASSTHROUGH: 'FAKE_CLAUDE_*',
        }),
      )
      .compile();
    const runner = new ClaudeCliRunner(moduleRef.get(AppConfig), {
      PATH: '/bin',
      FAKE_CLAUDE_LOG: '/tmp/x',
      DATABASE_URL: 'mysql://u:p@h/db',
      CLAUDECODE: '1',
    });
    expect(runner.childEnv()).toEqual({
      PATH: '/bin',
      FAKE_CLAUDE_LOG: '/tmp/x',
      DISABLE_AUTOUPDATER: '1',
      CLAUDE_CODE_MAX_RETRIES: '3',
    });
    expect(CLAUDE_CLI_PARENT_ENV).toBeDefined();
  });
});
