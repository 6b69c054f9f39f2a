import { LOCAL_PRINCIPAL, Principal } from 'src/access';
import { DomainError, ErrorCode } from 'src/common';
import { assertCommandsAllowed, commandRefusal } from 'src/sessions/command-policy';
import { splitCommandLine } from 'src/test-runner';

const ALLOWED = ['npm', 'npx', 'node', 'jest', 'vitest', 'pytest', 'python3', 'go', 'cargo'];
const WRITER: Principal = {
  kind: 'key',
  keyId: 'k1',
  keyPrefix: 'cta_000000000001',
  scopes: ['tasks:write'],
};

const refusal = (command: string): string | null =>
  commandRefusal(splitCommandLine(command), ALLOWED);

function errorOf(run: () => void): DomainError {
  try {
    run();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('no error');
}

describe('commandRefusal', () => {
  it.each([
    'npm test',
    'npx jest --runInBand',
    'node --test',
    'node --test test/a.test.js',
    'python3 -m pytest -q',
    'python3 -m pytest -c pytest.ini',
    'python3 -m unittest discover -s tests',
    'pytest -k "not slow"',
    'go test ./...',
    'cargo test --workspace',
    'jest --ci',
    'npm run test -- -c jest.config.js',
    'npm exec -- jest --ci',
    'npx --yes vitest run',
    'python3 -Xdev -m pytest',
    'python3 -Xfrozen_modules=off -m pytest',
    'python3 -W error -m pytest',
    'python3 -munittest',
    'python3 -m doctest README.md',
    'npm ci',
    'npm install',
    'npm install --no-audit --prefix sub',
    'npm ci --prefix sub --no-audit',
    'python3 -m pip install -r requirements.txt',
    'python3 -m pip install -e .',
    'python3 -m pip install ./vendor/lib',
    'node --test --test-reporter=tap',
    'python3 -Ximporttime -m pytest',
    'python3 tests/run.py -m slow',
    'python3 -W error tests/run.py -m slow',
    'npm run install',
  ])('accepts %s', (command) => {
    expect(refusal(command)).toBeNull();
  });

  it.each([
    ['bash -c id', /"bash" runs other programs/],
    ["sh -c 'cat /proc/1/environ'", /"sh" runs other programs/],
    ['/bin/sh -c id', /"sh" runs other programs/],
    ['env LD_PRELOAD=/tmp/x.so node --test', /"env" runs other programs/],
    ['/usr/bin/env node', /"env" runs other programs/],
    ['xargs rm', /"xargs" runs other programs/],
    ['timeout 5 node x.js', /"timeout" runs other programs/],
    ['busybox sh', /"busybox" runs other programs/],
    ["node -e 'process.exit(0)'", /"node -e" runs code/],
    ["node --eval 'x'", /"node --eval" runs code/],
    ["node --eval='x'", /"node --eval" runs code/],
    ["node -pe '1'", /"node -p" runs code/],
    ['node -r /tmp/evil.js --test', /"node -r" runs code/],
    ['node --import=/tmp/evil.mjs --test', /"node --import" runs code/],
    ["python3 -c 'import os'", /"python3 -c" runs code/],
    ["python3 -Bc 'import os'", /"python3 -c" runs code/],
    ['python3 -c\'open("/tmp/x", "w")\'', /"python3 -c" runs code/],
    ['python3 -Ic1', /"python3 -c" runs code/],
    ["npm exec -- sh -c 'id'", /"sh" runs other programs/],
    ['npm exec sh', /"sh" runs other programs/],
    ['npx bash', /"bash" runs other programs/],
    ['npx --yes env node x.js', /"env" runs other programs/],
    ["npx node -e 'process.exit(0)'", /"node -e" runs code/],
    ['npx npx npx jest', /package runners within package runners/],
    ['npm --prefix . exec sh', /"npm --prefix" before the command it runs/],
    ['npx -p x bash evil.sh', /"npx -p" before the command it runs/],
    ['npm exec --package x -- bash evil.sh', /"npm --package" before the command it runs/],
    ['npx cross-env bash x.sh', /"npx" runs "cross-env", which is not one of the allowed programs/],
    ['npx ts-node -e 1', /"npx" runs "ts-node", which is not one of the allowed programs/],
    ['npm explore jest -- ls', /"npm explore" runs commands that are not the project's/],
    ['npm init @evil/pkg', /"npm init" runs commands that are not the project's/],
    ["npx -c 'sh -c id'", /"npx -c" runs code/],
    ["npx --call 'id'", /"npx --call" runs code/],
    ['npm test --script-shell=/tmp/evil', /"npm --script-shell" runs code/],
    ['npm test --node-options=--require=/tmp/x.js', /"npm --node-options" runs code/],
    ['go test -exec /tmp/evil ./...', /"go -exec" runs code/],
    ['go test -toolexec=/tmp/evil ./...', /"go -toolexec" runs code/],
    ['cargo test --config \'target.x.runner="sh"\'', /"cargo --config" runs code/],
    [
      "python3 -m timeit -n1 \"__import__('os').system('id')\"",
      /"python3 -m timeit" runs a module other than pytest, unittest, doctest, pip/,
    ],
    ['python3 -m pdb -c continue x.py', /"python3 -m pdb" runs a module other than/],
    ['python3 -mtrace --count x.py', /"python3 -m trace" runs a module other than/],
    ['python3 -Im http.server', /"python3 -m http.server" runs a module other than/],
    ['node --inspect=0.0.0.0:9229 --test', /"node --inspect" opens a debugger/],
    ['node --inspect-brk --test', /"node --inspect-brk" opens a debugger/],
    ['npx node --inspect-port=9229 x.js', /"node --inspect-port" opens a debugger/],
    ['npm install evil-pkg', /"npm install evil-pkg" installs a package the project does not/],
    ['npm i --no-audit evil-pkg', /"npm i evil-pkg" installs a package/],
    ['npm add left-pad', /"npm add left-pad" installs a package/],
    ['python3 -m pip install evil', /"pip install evil" installs a package/],
    ['python3 -m pip install -r req.txt evil', /"pip install evil" installs a package/],
    ['python3 -m pip --cache-dir /tmp install evil', /"pip install evil" installs a package/],
    [
      'python3 -m pip install -e git+https://example.com/x.git#egg=x',
      /"pip install -e git\+https:\/\/example.com\/x.git#egg=x" installs a package/,
    ],
    ['python3 -m pip install --requirement=https://example.com/r.txt', /installs a package/],
    ['npm global add evil', /"npm add evil" installs a package/],
    ['python3 -Im timeit 1', /"python3 -m timeit" runs a module other than/],
    ['make test', /"make" is not one of the allowed programs/],
    ['/usr/bin/npm test', /"\/usr\/bin\/npm" is not one of the allowed programs/],
    ['./node_modules/.bin/jest', /is not one of the allowed programs/],
    ['perl -e 1', /"perl" is not one of the allowed programs/],
  ])('refuses %s', (command, reason) => {
    expect(refusal(command)).toMatch(reason);
  });
});

describe('assertCommandsAllowed', () => {
  it('lets an admin name any program, never shell syntax', () => {
    expect(() =>
      assertCommandsAllowed(
        { test_command: 'bash -c id', regression_command: 'make test' },
        LOCAL_PRINCIPAL,
        ALLOWED,
      ),
    ).not.toThrow();
    const error = errorOf(() =>
      assertCommandsAllowed({ test_command: 'make test | tee log' }, LOCAL_PRINCIPAL, ALLOWED),
    );
    expect(error.code).toBe(ErrorCode.ValidationFailed);
  });

  it('refuses with 403 command_not_allowed naming every field it refuses', () => {
    const error = errorOf(() =>
      assertCommandsAllowed(
        { test_command: 'npm test', regression_command: 'sh -c id', setup_command: 'env X=1 node' },
        WRITER,
        ALLOWED,
      ),
    );
    expect(error.code).toBe(ErrorCode.CommandNotAllowed);
    expect(error.details).toEqual({
      errors: [
        {
          field: 'regression_command',
          errors: [expect.stringMatching(/^regression_command: "sh"/)],
        },
        { field: 'setup_command', errors: [expect.stringMatching(/^setup_command: "env"/)] },
      ],
    });
  });

  it('reports commands that cannot run without a shell before anything else (400)', () => {
    const error = errorOf(() =>
      assertCommandsAllowed(
        { test_command: "'oops", regression_command: 'bash -c id' },
        WRITER,
        ALLOWED,
      ),
    );
    expect(error.code).toBe(ErrorCode.ValidationFailed);
    expect(error.message).toMatch(/test_command: .*unterminated single quote/);
  });

  it('skips fields that name no command', () => {
    expect(() => assertCommandsAllowed({ test_command: null }, WRITER, ALLOWED)).not.toThrow();
  });
});
