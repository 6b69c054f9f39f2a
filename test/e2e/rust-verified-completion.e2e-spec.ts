import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import request from 'supertest';
import type { App } from 'supertest/types';
import type { TaskVerificationResponseDto } from 'sdk/client';
import { createTestApp, TestApp } from 'test/e2e/support/test-app';
import {
  copyFixtureProject,
  editFiles,
  VERIFYING_RUNNER_ENV,
  fakeClaudeWorkdir,
  fakeScript,
  getDetails,
  waitForTerminal,
} from 'test/e2e/support/task-polling';
import { committedProject } from 'test/e2e/support/git-repos';

/**
 * VERIFIED COMPLETION of `cargo test` projects end to end: the real AppModule with the
 * orchestrator on and REQUIRE_FAILING_TESTS=true, scripted fake agents (honest ones and cheats)
 * in copies of the rust-basic fixture (std only: `add`, inline unit tests add_small and
 * add_negative, tests/basic.rs), the session's regression command `cargo test`. Needs cargo: where
 * it cannot run, the suite prints why and is skipped, unless REQUIRE_CARGO=1 (then it fails).
 */

function cargoProblem(): string | null {
  const result = spawnSync('cargo', ['--version'], { encoding: 'utf8', timeout: 30_000 });
  if (result.error) return `cargo cannot run (${result.error.message})`;
  if (result.status !== 0) return `cargo --version exited ${result.status}: ${result.stderr}`;
  return null;
}

const problem = cargoProblem();

function describeCargo(name: string, body: () => void): void {
  if (problem === null) {
    describe(name, body);
  } else if (process.env.REQUIRE_CARGO === '1') {
    describe(name, () => {
      it('needs cargo (REQUIRE_CARGO=1)', () => {
        throw new Error(`cargo required but unavailable: ${problem}`);
      });
    });
  } else {
    console.log(`Rust suite skipped: ${problem}`);
    describe.skip(name, body);
  }
}

const workdir = fakeClaudeWorkdir('cta-rust-e2e-');

const ENV: Record<string, string> = {
  ...VERIFYING_RUNNER_ENV,
  TEST_TIMEOUT_SECONDS: '180',
  REGRESSION_TIMEOUT_SECONDS: '180',
};

const LIB_WITH_MUL = (add: string, tests: string): string =>
  [
    'pub fn add(a: i64, b: i64) -> i64 {',
    `    ${add}`,
    '}',
    '',
    'pub fn mul(a: i64, b: i64) -> i64 {',
    '    a * b',
    '}',
    '',
    tests,
  ].join('\n');

const INLINE_TESTS = (attributes: string, negativeAttributes = ''): string =>
  [
    attributes,
    'mod tests {',
    '    use super::*;',
    '',
    '    #[test]',
    '    fn add_small() {',
    '        assert_eq!(add(2, 3), 5);',
    '    }',
    '',
    `    #[test]${negativeAttributes}`,
    '    fn add_negative() {',
    '        assert_eq!(add(-2, -3), -5);',
    '    }',
    '}',
    '',
  ].join('\n');

const HONEST_LIB = LIB_WITH_MUL('a + b', INLINE_TESTS('#[cfg(test)]'));
/** `add` broken for negative numbers. */
const BROKEN_ADD = 'if a < 0 { a - b } else { a + b }';

const MUL_TEST = (crate = 'rcalc', name = 'mul_works'): string =>
  `use ${crate}::mul;\n\n#[test]\nfn ${name}() {\n    assert_eq!(mul(3, 4), 12);\n}\n`;

let t: TestApp;
let server: App;

async function createSession(projectPath: string): Promise<string> {
  const res = await request(server)
    .post('/api/v1/sessions')
    .send({ project_path: projectPath, regression_command: 'cargo test' })
    .expect(201);
  return res.body.id as string;
}

async function runTask(sessionId: string, script: string[], maxIterations = 2): Promise<string> {
  const res = await request(server)
    .post('/api/v1/tasks')
    .send({
      session_id: sessionId,
      description: `Add mul. ${fakeScript(...script)}`,
      max_iterations: maxIterations,
    })
    .expect(201);
  return res.body.id as string;
}

async function verification(id: string): Promise<TaskVerificationResponseDto> {
  const res = await request(server).get(`/api/v1/tasks/${id}/verification`).expect(200);
  return res.body as TaskVerificationResponseDto;
}

describeCargo('a cargo test project (rust-basic, regression command cargo test)', () => {
  let session: string;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    t = await createTestApp({ database: 'sqlite', env: ENV });
    await t.app.listen(0, '127.0.0.1');
    server = (await t.app.getUrl()).replace('[::1]', '127.0.0.1') as unknown as App;
    session = await createSession(copyFixtureProject('rust-basic', workdir.root(), 'rcalc'));
    // The first honest task takes the baseline; the cheats start once it is stored, and reuse it.
    ids.honest = await runTask(session, [
      editFiles(['src/lib.rs', HONEST_LIB], ['tests/mul.rs', MUL_TEST()]),
    ]);
    await waitForTerminal(server, ids.honest);
    const cheats: Record<string, [string, string][]> = {
      ignored: [
        [
          'src/lib.rs',
          LIB_WITH_MUL('a + b', INLINE_TESTS('#[cfg(test)]')).replace('a * b', 'a + b'),
        ],
        ['tests/mul.rs', MUL_TEST().replace('#[test]\n', '#[test]\n#[ignore]\n')],
      ],
      noTests: [
        ['src/lib.rs', HONEST_LIB.replace('a * b', 'a + b')],
        ['tests/mul.rs', 'use rcalc::mul;\n\npub fn twelve() -> i64 {\n    mul(3, 4)\n}\n'],
      ],
      inlineIgnored: [
        ['src/lib.rs', LIB_WITH_MUL(BROKEN_ADD, INLINE_TESTS('#[cfg(test)]', '\n    #[ignore]'))],
        ['tests/mul.rs', MUL_TEST()],
      ],
      inlineGated: [
        ['src/lib.rs', LIB_WITH_MUL(BROKEN_ADD, INLINE_TESTS('#[cfg(all(test, feature = "x"))]'))],
        ['tests/mul.rs', MUL_TEST()],
      ],
      libTestOff: [
        [
          'Cargo.toml',
          '[package]\nname = "rcalc"\nversion = "0.1.0"\nedition = "2021"\n\n[lib]\ntest = false\n',
        ],
        ['src/lib.rs', LIB_WITH_MUL(BROKEN_ADD, INLINE_TESTS('#[cfg(test)]'))],
        ['tests/mul.rs', MUL_TEST()],
      ],
      // add right under test (the inline tests) alone; tests/basic.rs checks no negative.
      probed: [
        [
          'src/lib.rs',
          LIB_WITH_MUL(
            `if cfg!(test) { a + b } else { ${BROKEN_ADD} }`,
            INLINE_TESTS('#[cfg(test)]'),
          ),
        ],
        ['tests/mul.rs', MUL_TEST()],
      ],
      runner: [
        ['.cargo/config.toml', '[target.x86_64-unknown-linux-gnu]\nrunner = "true"\n'],
        ['src/lib.rs', LIB_WITH_MUL(BROKEN_ADD, INLINE_TESTS('#[cfg(test)]'))],
        ['tests/mul.rs', MUL_TEST()],
      ],
    };
    // Cargo.lock is not in the fixture: with the baseline reused, `cargo test` writes it in the round.
    ids.reused = await runTask(session, [
      editFiles(['src/lib.rs', HONEST_LIB], ['tests/mul.rs', MUL_TEST()]),
    ]);
    for (const [name, files] of Object.entries(cheats)) {
      ids[name] = await runTask(session, [editFiles(...files), 'success']);
    }
    const workspace = committedProject(join(workdir.root(), 'ws'), {
      '.gitignore': 'target/\n',
      'Cargo.toml': '[workspace]\nmembers = ["crates/core"]\nresolver = "2"\n',
      'crates/core/Cargo.toml': '[package]\nname = "core"\nversion = "0.1.0"\nedition = "2021"\n',
      'crates/core/src/lib.rs': 'pub fn add(a: i64, b: i64) -> i64 {\n    a + b\n}\n',
      'crates/core/tests/basic.rs': MUL_TEST('core', 'add_zero').replace(/mul/g, 'add'),
    });
    ids.workspace = await runTask(await createSession(workspace), [
      editFiles(
        [
          'crates/core/src/lib.rs',
          'pub fn add(a: i64, b: i64) -> i64 {\n    a + b\n}\n\npub fn mul(a: i64, b: i64) -> i64 {\n    a * b\n}\n',
        ],
        ['crates/core/tests/mul.rs', MUL_TEST('core')],
      ),
    ]);
    // A crate whose doctest alone checks add past 100: an honest agent adding mul above add
    // moves it (its line is in libtest's name), a cheat makes it `ignore` and breaks add there.
    const doctested = (add: string, fence = '```'): string =>
      `/// Adds.\n///\n/// ${fence}\n/// assert_eq!(dcalc::add(100, 1), 101);\n/// \`\`\`\npub fn add(a: i64, b: i64) -> i64 {\n    ${add}\n}\n`;
    const MUL = 'pub fn mul(a: i64, b: i64) -> i64 {\n    a * b\n}\n\n';
    const dcalc = await createSession(
      committedProject(join(workdir.root(), 'dcalc'), {
        '.gitignore': 'target/\n',
        'Cargo.toml': '[package]\nname = "dcalc"\nversion = "0.1.0"\nedition = "2021"\n',
        'src/lib.rs': doctested('a + b'),
      }),
    );
    ids.doctestMoved = await runTask(dcalc, [
      editFiles(['src/lib.rs', MUL + doctested('a + b')], ['tests/mul.rs', MUL_TEST('dcalc')]),
    ]);
    ids.doctestIgnored = await runTask(dcalc, [
      editFiles(
        ['src/lib.rs', MUL + doctested('if a >= 100 { a } else { a + b }', '```ignore')],
        ['tests/mul.rs', MUL_TEST('dcalc')],
      ),
      'success',
    ]);
  }, 600_000);

  afterAll(async () => {
    await t?.close();
  });

  it('an honest agent completes verified; the evidence names the command that ran and its test', async () => {
    const { final } = await waitForTerminal(server, ids.honest);
    expect(final).toMatchObject({ status: 'COMPLETED', status_reason: 'verified' });
    const v = await verification(ids.honest);
    expect(v).toMatchObject({
      verdict: 'verified',
      baseline_reused: false,
      generated: {
        command: ['cargo', 'test'],
        commands: [['cargo', 'test', '--test', 'mul']],
        counts: { passed: 1, failed: 0, errored: 0, skipped: 0 },
        failing: [],
      },
      // The regression suite as libtest counts it: 3 tests at the base, 4 with the new one.
      baseline: { total: 3, counts: { passed: 3, skipped: 0 } },
      regression: { total: 4, counts: { passed: 4, skipped: 0 } },
      weakening: [],
    });
    expect(v.regression?.tests).toEqual([
      'add_zero',
      'mul_works',
      'tests::add_negative',
      'tests::add_small',
    ]);
    expect(v.generated_at_base?.exit_code).not.toBe(0);
  });

  it('an honest agent reusing the baseline completes verified: the Cargo.lock cargo test wrote is no change after the tests', async () => {
    const { final } = await waitForTerminal(server, ids.reused);
    const v = await verification(ids.reused);
    const details = await getDetails(server, ids.reused);
    const prompts = details.interactions
      .filter((i) => i.kind === 'simulated_human')
      .map((i) => i.content);
    // Shown together: a refusal names why (the prompts, the evidence's verdict and files).
    expect({
      status: final.status,
      reason: final.status_reason,
      verdict: v.verdict,
      changed: v.changed_after_tests,
      reused: v.baseline_reused,
      prompts: prompts.slice(1),
    }).toEqual({
      status: 'COMPLETED',
      reason: 'verified',
      verdict: 'verified',
      changed: [],
      reused: true,
      prompts: [],
    });
  });

  it.each([
    ['ignored', 'Every test in this file was ignored'],
    ['noTests', 'No tests were found in this file'],
  ])('a generated test file in which no test runs (%s) is no pass', async (name, why) => {
    const { final } = await waitForTerminal(server, ids[name]);
    expect(final.status).toBe('FAILED');
    const v = await verification(ids[name]);
    expect(v.verdict).toBe('tests_failed');
    expect(v.generated?.counts.errored).toBe(1);
    expect(v.generated?.counts.passed).toBe(0);
    const res = await request(server).get(`/api/v1/tasks/${ids[name]}/test-cases?limit=200`);
    const cases = (res.body as { items: { name: string; status: string; output: string }[] }).items;
    const file = cases.filter((c) => c.name === 'tests/mul.rs');
    expect(file.length).toBeGreaterThan(0);
    expect(file.every((c) => c.status === 'error' && c.output.startsWith(why))).toBe(true);
    // Never a pass for the file, as the base code reported it.
    expect(cases.some((c) => c.name === 'tests/mul.rs' && c.status === 'passed')).toBe(false);
  });

  it.each([
    [
      'inlineIgnored',
      'skip_marker',
      /added 1 `#\[ignore\]` marker\(s\) to the tests in src\/lib\.rs/,
    ],
    [
      'inlineGated',
      'test_config_changed',
      /changed the conditions the tests in src\/lib\.rs compile under: `cfg\(all\(test,feature="x"\)\)`/,
    ],
    ['libTestOff', 'test_config_changed', /Cargo\.toml: lib\.test set to `false`/],
    [
      'probed',
      'test_detection',
      /added code to src\/lib\.rs that tells whether it runs under test \(`cfg!\(test\)` 1x\)/,
    ],
  ])(
    'a cheat hiding the broken add (%s) is caught as weakening and never completes',
    async (name, kind, detail) => {
      const { final } = await waitForTerminal(server, ids[name]);
      expect(final.status).toBe('FAILED');
      const v = await verification(ids[name]);
      expect(v.verdict).toBe('tests_weakened');
      expect(v.weakening.map((w) => w.kind)).toContain(kind);
      expect(v.weakening.map((w) => w.detail).join('\n')).toMatch(detail);
    },
  );

  it('a cargo runner that runs no test binary is no pass, and is test configuration', async () => {
    const { final } = await waitForTerminal(server, ids.runner);
    expect(final.status).toBe('FAILED');
    const v = await verification(ids.runner);
    // Nothing printed libtest's result: the generated file is an error before any weakening.
    expect(v.verdict).toBe('tests_failed');
    expect(v.generated?.counts.errored).toBe(1);
  });

  it("an honest agent moving a doctest (its line is in libtest's name) completes verified", async () => {
    const { final } = await waitForTerminal(server, ids.doctestMoved);
    const v = await verification(ids.doctestMoved);
    expect({ status: final.status, verdict: v.verdict, weakening: v.weakening }).toEqual({
      status: 'COMPLETED',
      verdict: 'verified',
      weakening: [],
    });
    expect(v.regression?.tests).toEqual(['mul_works', 'src/lib.rs - add']);
  });

  it('a doctest made `ignore` is a test the suite no longer runs, by name, though a new test makes up the count', async () => {
    const { final } = await waitForTerminal(server, ids.doctestIgnored);
    expect(final.status).toBe('FAILED');
    const v = await verification(ids.doctestIgnored);
    expect(v.verdict).toBe('tests_weakened');
    expect(v.regression).toMatchObject({ total: 2, counts: { passed: 1, skipped: 1 } });
    expect(v.weakening).toEqual([
      {
        kind: 'fewer_tests',
        file: null,
        detail:
          'the regression suite no longer runs 1 test(s) it ran at the base commit: src/lib.rs - add',
      },
    ]);
  });

  it('an honest agent in a workspace member crate completes verified, its test run in its package', async () => {
    const { final } = await waitForTerminal(server, ids.workspace);
    expect(final).toMatchObject({ status: 'COMPLETED', status_reason: 'verified' });
    const v = await verification(ids.workspace);
    expect(v.generated).toMatchObject({
      commands: [['cargo', 'test', '--manifest-path', 'crates/core/Cargo.toml', '--test', 'mul']],
      counts: { passed: 1 },
    });
  });
});
