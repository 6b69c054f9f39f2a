import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Test } from '@nestjs/testing';
import { ClaudeCliModule } from 'src/claude-cli/claude-cli.module';
import { CLAUDE_CLI_PARENT_ENV, ClaudeCliRunner } from 'src/claude-cli/claude-cli-runner.service';
import { CliAvailabilityService } from 'src/claude-cli/cli-availability.service';
import { Clock, CommonModule } from 'src/common';
import { AppConfig, ConfigModule, loadConfig } from 'src/config';
import { NO_ISOLATION, ProcessLauncher } from 'src/process';

const FAKE = join(__dirname, '..', '..', 'test', 'fixtures', 'fake-claude', 'claude');

describe('ClaudeCliModule', () => {
  it('provides the runner and checks the CLI version and its login at init', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [ConfigModule, CommonModule, ClaudeCliModule],
    })
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
      loggedIn: true,
      authMethod: 'claude.ai',
    });
    await moduleRef.close();
  });

  it('reports a CLI that is not logged in, found out without an API call', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [ConfigModule, CommonModule, ClaudeCliModule],
    })
      .overrideProvider(AppConfig)
      .useValue(
        loadConfig({ CLAUDE_CLI_COMMAND: FAKE, CLAUDE_CLI_ENV_PASSTHROUGH: 'FAKE_CLAUDE_*' }),
      )
      .overrideProvider(CliAvailabilityService)
      .useFactory({
        factory: (config: AppConfig, clock: Clock, launcher: ProcessLauncher) =>
          new CliAvailabilityService(config, clock, launcher, NO_ISOLATION, {
            PATH: process.env.PATH,
            FAKE_CLAUDE_LOGIN: 'none',
          }),
        inject: [AppConfig, Clock, ProcessLauncher],
      })
      .compile();
    const cli = moduleRef.get(CliAvailabilityService);
    expect(await cli.check()).toMatchObject({ available: true, loggedIn: false, authMethod: null });
    await moduleRef.close();
  });

  it('asks again at once when the executable is removed or installed, however fresh the answer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cta-cli-mark-'));
    const command = join(dir, 'claude');
    symlinkSync(FAKE, command);
    const moduleRef = await Test.createTestingModule({
      imports: [ConfigModule, CommonModule, ClaudeCliModule],
    })
      .overrideProvider(AppConfig)
      .useValue(loadConfig({ CLAUDE_CLI_COMMAND: command }))
      .compile();
    try {
      const cli = moduleRef.get(CliAvailabilityService);
      const hour = 3_600_000;
      expect(await cli.check()).toMatchObject({ available: true });
      rmSync(command);
      expect(await cli.freshStatus(hour)).toMatchObject({
        available: false,
        error: `not found at ${command}`,
      });
      symlinkSync(FAKE, command);
      expect(await cli.freshStatus(hour)).toMatchObject({ available: true, error: null });
    } finally {
      await moduleRef.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('filters the CLI environment from the injected parent environment', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [ConfigModule, CommonModule, ClaudeCliModule],
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
    const runner = new ClaudeCliRunner(
      moduleRef.get(AppConfig),
      moduleRef.get(ProcessLauncher),
      NO_ISOLATION,
      {
        PATH: '/bin',
        FAKE_CLAUDE_LOG: '/tmp/x',
        DATABASE_URL: 'mysql://u:p@h/db',
        CLAUDECODE: '1',
      },
    );
    expect(runner.childEnv()).toEqual({
      PATH: '/bin',
      FAKE_CLAUDE_LOG: '/tmp/x',
      DISABLE_AUTOUPDATER: '1',
      CLAUDE_CODE_MAX_RETRIES: '3',
    });
    expect(CLAUDE_CLI_PARENT_ENV).toBeDefined();
  });
});
