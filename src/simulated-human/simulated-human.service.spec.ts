import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { TurnOutcome } from 'src/claude-cli';
import { Test } from '@nestjs/testing';
import { AppConfig, ConfigModule, loadConfig } from 'src/config';
import { SimulatedHumanModule } from 'src/simulated-human/simulated-human.module';
import { SimulatedHumanService } from 'src/simulated-human/simulated-human.service';

describe('SimulatedHumanService', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cta-human-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('uses the configured cadence, tools and a custom template file', () => {
    const file = join(dir, 't.json');
    writeFileSync(file, JSON.stringify({ firstTurn: 'TASK={{taskDescription}}' }));
    const service = new SimulatedHumanService(
      loadConfig({
        PROMPT_TEMPLATES_FILE: file,
        ENCOURAGE_EVERY_MIN: '2',
        ENCOURAGE_EVERY_MAX: '2',
        CLAUDE_ALLOWED_TOOLS: 'Read,Edit',
      }),
    );
    expect(service.firstTurnPrompt('do it', '/p')).toBe('TASK=do it');
    const decision = service.decide({
      outcome: { kind: 'success', text: 'Next, I will continue.', permissionDenials: [] },
      phase: 'work',
      iteration: 2,
      maxIterations: 20,
      pauseCount: 0,
      maxPauses: 5,
      turnsSinceEncouragement: 2,
    });
    expect(decision).toMatchObject({ action: 'continue', reason: 'encourage', encouraged: true });
    const denied = service.decide({
      outcome: {
        kind: 'success_with_denials',
        text: 'blocked',
        permissionDenials: [{ toolName: 'Bash' }],
      },
      phase: 'work',
      iteration: 1,
      maxIterations: 20,
      pauseCount: 0,
      maxPauses: 5,
      turnsSinceEncouragement: 0,
    });
    expect(denied.action === 'continue' && denied.prompt).toContain('allowed tools (Read, Edit)');
  });

  it('accepts a full TurnOutcome from the ClaudeCli module', () => {
    const service = new SimulatedHumanService(loadConfig({}));
    const outcome: TurnOutcome = {
      kind: 'success',
      text: 'Should I use integers?',
      permissionDenials: [],
      conversationCostUsd: 0.01,
      turnCostUsd: 0.01,
      inputTokens: 10,
      outputTokens: 5,
      numTurns: 1,
      durationMs: 100,
      exitCode: 0,
      stderrTail: '',
      sessionId: null,
    };
    const decision = service.decide({
      outcome,
      phase: 'work',
      iteration: 1,
      maxIterations: 20,
      pauseCount: 0,
      maxPauses: 5,
      turnsSinceEncouragement: 0,
    });
    expect(decision).toMatchObject({
      action: 'continue',
      reason: 'answer_question',
      intervention: true,
    });
  });

  it('is provided by SimulatedHumanModule', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [ConfigModule, SimulatedHumanModule],
    })
      .overrideProvider(AppConfig)
      .useValue(loadConfig({}))
      .compile();
    const service = moduleRef.get(SimulatedHumanService);
    expect(service.firstTurnPrompt('Create a calculator function', '/p')).toContain(
      'Create a calculator function',
    );
  });

  it('resumes an interrupted task without claiming its server restarted (a lost lease resumes it too)', () => {
    const prompt = new SimulatedHumanService(loadConfig({})).resumePrompt('Add a CSV export', {
      phase: 'work',
    });
    expect(prompt).toMatch(
      /^Your work on this task was interrupted: the server running it stopped, or lost its hold on the\ntask \(task: Add a CSV export\)\./,
    );
    expect(prompt).not.toContain('restarted');
  });

  it('refuses to start with an invalid template file', () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ testFeedback: 'no output here' }));
    expect(() => new SimulatedHumanService(loadConfig({ PROMPT_TEMPLATES_FILE: file }))).toThrow(
      /must contain \{\{failingOutput\}\}/,
    );
  });

  it('gives a seed that is stable per task and changes after each encouragement', () => {
    const service = new SimulatedHumanService(loadConfig({}));
    expect(service.encouragementSeed('task-a', 0)).toBe(service.encouragementSeed('task-a', 0));
    expect(service.encouragementSeed('task-a', 1)).not.toBe(service.encouragementSeed('task-a', 0));
  });

  it('summarizes test runs into failures, generated first', () => {
    const service = new SimulatedHumanService(loadConfig({}));
    const summary = service.summarizeTests([
      {
        kind: 'regression',
        command: ['npm', 'test'],
        passed: false,
        timedOut: true,
        exitCode: null,
        output: 'hung',
        cases: [],
      },
      {
        kind: 'generated',
        command: ['node', '--test'],
        passed: false,
        timedOut: false,
        exitCode: 1,
        output: 'x',
        cases: [
          { name: 'a', filePath: 'a.test.js', status: 'passed', output: '' },
          { name: 'b', filePath: 'a.test.js', status: 'failed', output: 'boom' },
        ],
      },
    ]);
    expect(summary.failures.map((f) => [f.kind, f.name])).toEqual([
      ['generated', 'b'],
      ['regression', 'regression test command (timed out)'],
    ]);
    expect(summary.failed).toBe(2);
    expect(summary.total).toBe(3);
  });
});
