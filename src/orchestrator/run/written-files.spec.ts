import { MAX_WRITTEN_FILES, WrittenFiles } from 'src/orchestrator/run/written-files';

/** `written` with each of `uses` made and answered (`failed`: the ids whose result is an error). */
function wrote(
  written: WrittenFiles,
  uses: [id: string, tool: string, input: unknown][],
  failed: string[] = [],
): WrittenFiles {
  for (const [id, tool, input] of uses) written.use(id, tool, input);
  for (const [id] of uses) written.result(id, failed.includes(id));
  return written;
}

describe('WrittenFiles', () => {
  it("notes the files the CLI's file tools write, not what other tools read or run", () => {
    const written = wrote(new WrittenFiles(), [
      ['1', 'Write', { file_path: '/p/src/a.js', content: 'x' }],
      ['2', 'Edit', { file_path: '/p/src/b.js', old_string: 'a', new_string: 'b' }],
      ['3', 'MultiEdit', { file_path: 'src/c.js', edits: [] }],
      ['4', 'NotebookEdit', { notebook_path: '/p/n.ipynb', new_source: '' }],
      ['5', 'Read', { file_path: '/p/src/read.js' }],
      ['6', 'Bash', { command: 'touch /p/src/shell.js' }],
      ['7', 'Write', { file_path: 42 }],
      ['8', 'Write', null],
    ]);
    expect(written.within('/p')).toEqual(['n.ipynb', 'src/a.js', 'src/b.js', 'src/c.js']);
  });

  it('counts a write only once its result says it happened: not refused, failed or unanswered', () => {
    const written = new WrittenFiles();
    wrote(
      written,
      [
        ['ok', 'Write', { file_path: '/p/ok.js' }],
        ['denied', 'Write', { file_path: '/p/.env' }],
      ],
      ['denied'],
    );
    written.use('cut', 'Edit', { file_path: '/p/cut.js' });
    written.result('unknown', false);
    expect(written.within('/p')).toEqual(['ok.js']);
  });

  it('keeps only the files inside the directory, relative to it, each once', () => {
    const paths = ['/p/app/x.js', '/p/app/../app/x.js', '/p/other.js', '/tmp/y', '/p/app'];
    const written = wrote(
      new WrittenFiles(),
      [...paths, '/p/app/..hidden'].map((file_path, i) => [String(i), 'Write', { file_path }]),
    );
    expect(written.within('/p/app')).toEqual(['..hidden', 'x.js']);
  });

  it(`remembers at most ${MAX_WRITTEN_FILES} files`, () => {
    const uses = Array.from(
      { length: MAX_WRITTEN_FILES + 1 },
      (_, i): [string, string, unknown] => [String(i), 'Write', { file_path: `/p/${i}` }],
    );
    expect(wrote(new WrittenFiles(), uses).within('/p')).toHaveLength(MAX_WRITTEN_FILES);
  });
});
