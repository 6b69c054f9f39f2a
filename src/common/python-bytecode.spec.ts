import { isPythonBytecode } from 'src/common/python-bytecode';

describe('isPythonBytecode', () => {
  it.each([
    ['calc.pyc', true],
    ['old.pyo', true],
    ['a/__pycache__/calc.cpython-311.pyc', true],
    ['a/__pycache__', true],
    ['calc.py', false],
    ['pyc/notes.txt', false],
    ['notes.pyc.txt', false],
  ])('%s -> %s', (path, expected) => {
    expect(isPythonBytecode(path)).toBe(expected);
  });
});
