import { DomainError, ErrorCode } from 'src/common';
import { formatCommandLine, splitCommandLine } from 'src/test-runner/command-line';

describe('splitCommandLine', () => {
  it.each<[string, string[]]>([
    ['npm test', ['npm', 'test']],
    ['  python3   -m  pytest\t-q  ', ['python3', '-m', 'pytest', '-q']],
    [`node --test 'test/a b.test.js'`, ['node', '--test', 'test/a b.test.js']],
    [`pytest "tests/it's here.py"`, ['pytest', "tests/it's here.py"]],
    [`echo "say \\"hi\\" \\\\ ok"`, ['echo', 'say "hi" \\ ok']],
    ['a\\ b c', ['a b', 'c']],
    [`pytest -k 'not slow and $HOME' ''`, ['pytest', '-k', 'not slow and $HOME', '']],
    [`go test './...'`, ['go', 'test', './...']],
    [`jest '--testNamePattern=a|b'`, ['jest', '--testNamePattern=a|b']],
    [`pytest --junitxml=a=b`, ['pytest', '--junitxml=a=b']],
    [`cargo test -- --nocapture`, ['cargo', 'test', '--', '--nocapture']],
    [`x a~b c#d`, ['x', 'a~b', 'c#d']],
    [`x 'a'"b"c`, ['x', 'abc']],
  ])('%s', (line, argv) => {
    expect(splitCommandLine(line)).toEqual(argv);
  });

  it.each<[string, RegExp]>([
    ['npm test | tee out', /shell operator "\|"/],
    ['npm test && rm -rf /', /shell operator "&"/],
    ['npm test; rm -rf /', /shell operator ";"/],
    ['npm test > out.txt', /shell operator ">"/],
    ['npm test < in.txt', /shell operator "</],
    ['npm test &', /shell operator "&"/],
    ['echo `id`', /backtick/],
    ['echo "`id`"', /backtick/],
    ['echo $(id)', /shell expansion/],
    ['echo "$(id)"', /shell expansion/],
    ['echo ${HOME}', /shell expansion/],
    ['echo "$HOME"', /shell expansion/],
    ['echo $HOME', /shell expansion/],
    ['pytest tests/*.py', /glob character "\*"/],
    ['ls ?', /glob/],
    ['ls ~/x', /"~"/],
    ['npm test # comment', /comment/],
    ['(npm test)', /shell operator "\("/],
    ['npm test\nrm -rf /', /line break/],
    ['CI=1 npm test', /environment assignment/],
    ["pytest 'unterminated", /unterminated single quote/],
    ['pytest "unterminated', /unterminated double quote/],
    ['pytest \\', /lone backslash/],
    ['', /is empty/],
    ['   ', /is empty/],
    ["'' test", /empty program name/],
  ])('rejects %j', (line, message) => {
    let caught: unknown;
    try {
      splitCommandLine(line);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(DomainError);
    expect((caught as DomainError).code).toBe(ErrorCode.ValidationFailed);
    expect((caught as DomainError).message).toMatch(message);
    expect((caught as DomainError).message).toMatch(/without a shell/);
  });

  it('round-trips through formatCommandLine', () => {
    const argv = ['node', '--test', "it's a file.js", '-x', '', '$(id)'];
    expect(splitCommandLine(formatCommandLine(argv))).toEqual(argv);
  });
});
