/** A Python bytecode file's name: `.pyc`, or `.pyo` of old. */
export const PYTHON_BYTECODE_FILE = /\.py[co]$/;

/** The directory Python writes a module's bytecode into, beside its source. */
export const PYTHON_CACHE_DIR = '__pycache__';

/** Whether `path` (slash-separated) is Python bytecode: a `.pyc` or `.pyo`, or in a `__pycache__`. */
export function isPythonBytecode(path: string): boolean {
  return PYTHON_BYTECODE_FILE.test(path) || path.split('/').includes(PYTHON_CACHE_DIR);
}
