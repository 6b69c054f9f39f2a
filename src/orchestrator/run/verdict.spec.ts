import { completionSummary, unstartableTestCommand } from 'src/orchestrator/run/verdict';
import { TestCaseResult, TestRunReport } from 'src/test-runner';

const testCase = (name: string, status: TestCaseResult['status']): TestCaseResult => ({
  name,
  filePath: 'test/multiply.test.js',
  status,
  durationMs: 1,
  output: '',
});

function run(kind: TestRunReport['kind'], cases: TestCaseResult[], output = ''): TestRunReport {
  return {
    kind,
    command: kind === 'generated' ? ['node', '--test'] : ['npm', 'test'],
    exitCode: 0,
    timedOut: false,
    durationMs: 12,
    output,
    cases,
    passed: true,
    invocations: [],
  };
}

const TAP_OF_SEVEN = `TAP version 13\n${[1, 2, 3, 4, 5, 6, 7].map((n) => `ok ${n} - t${n}\n`).join('')}1..7\n# tests 7\n# pass 7\n# fail 0\n`;

describe('completionSummary', () => {
  it('counts the generated cases that ran apart from the skipped, and the suite by its own count', () => {
    const summary = completionSummary(
      [
        run('generated', [
          testCase('multiplies', 'passed'),
          testCase('later', 'skipped'),
          testCase('much later', 'skipped'),
        ]),
        run('regression', [{ ...testCase('npm test', 'passed'), filePath: null }], TAP_OF_SEVEN),
      ],
      2,
      'Done.',
    );
    expect(summary).toBe(
      [
        'Completed after 2 agent turn(s). Verified:',
        '- generated tests passed: 1 case(s) (2 more skipped) in test/multiply.test.js (`node --test`, 12 ms)',
        '- regression tests passed: 7 test(s) (`npm test`, 12 ms)',
        '',
        "Agent's last message:",
        'Done.',
      ].join('\n'),
    );
  });
});

describe('unstartableTestCommand', () => {
  const started = (startError: string | null, program = '/opt/runner') => ({
    command: [program, 'test/a.test.js'],
    exitCode: startError === null ? 1 : null,
    timedOut: false,
    durationMs: 1,
    startError,
  });
  const generated = (...runs: ReturnType<typeof started>[]): TestRunReport => ({
    ...run('generated', []),
    passed: false,
    invocations: runs,
  });
  const project = '/srv/project';

  it('names the command when no run could start for a program the agent could not have made', () => {
    expect(
      unstartableTestCommand([generated(started('ENOENT'), started('ENOENT'))], project),
    ).toEqual({ command: '/opt/runner test/a.test.js', error: 'ENOENT' });
    expect(unstartableTestCommand([generated(started('ENOENT', 'pytest'))], project)).toMatchObject(
      { error: 'ENOENT' },
    );
  });

  it("is null for the agent's to fix: a project script, a program inside the project, one not executable", () => {
    for (const program of [
      './scripts/test.sh',
      '.venv/bin/pytest',
      `${project}/.venv/bin/pytest`,
    ]) {
      expect(unstartableTestCommand([generated(started('ENOENT', program))], project)).toBeNull();
    }
    expect(unstartableTestCommand([generated(started('EACCES'))], project)).toBeNull();
  });

  it('is null when one run started, without runs, and for the regression suite', () => {
    expect(
      unstartableTestCommand([generated(started('ENOENT'), started(null))], project),
    ).toBeNull();
    expect(unstartableTestCommand([generated()], project)).toBeNull();
    expect(
      unstartableTestCommand(
        [{ ...run('regression', []), invocations: [started('ENOENT')] }],
        project,
      ),
    ).toBeNull();
  });
});
