import { MAX_WRITTEN_FILES, WrittenFiles } from 'src/orchestrator/run/written-files';

describe('WrittenFiles', () => {
  it("notes the files the CLI's file tools write, not what other tools read or run", () => {
    const written = new WrittenFiles();
    written.note('Write', { file_path: '/p/src/a.js', content: 'x' });
    written.note('Edit', { file_path: '/p/src/b.js', old_string: 'a', new_string: 'b' });
    written.note('MultiEdit', { file_path: 'src/c.js', edits: [] });
    written.note('NotebookEdit', { notebook_path: '/p/n.ipynb', new_source: '' });
    written.note('Read', { file_path: '/p/src/read.js' });
    written.note('Bash', { command: 'touch /p/src/shell.js' });
    written.note('Write', { file_path: 42 });
    written.note('Write', null);
    expect(written.within('/p')).toEqual(['n.ipynb', 'src/a.js', 'src/b.js', 'src/c.js']);
  });

  it('keeps only the files inside the directory, relative to it, each once', () => {
    const written = new WrittenFiles();
    for (const path of ['/p/app/x.js', '/p/app/../app/x.js', '/p/other.js', '/tmp/y', '/p/app']) {
      written.note('Write', { file_path: path });
    }
    written.note('Write', { file_path: '/p/app/..hidden' });
    expect(written.within('/p/app')).toEqual(['..hidden', 'x.js']);
  });

  it(`remembers at most ${MAX_WRITTEN_FILES} files`, () => {
    const written = new WrittenFiles();
    for (let i = 0; i <= MAX_WRITTEN_FILES; i += 1) written.note('Write', { file_path: `/p/${i}` });
    expect(written.within('/p')).toHaveLength(MAX_WRITTEN_FILES);
  });
});
