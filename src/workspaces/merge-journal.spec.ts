import {
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MERGE_JOURNAL_NAME, MergeJournal } from 'src/workspaces/merge-journal';

describe('MergeJournal', () => {
  let gitDir: string;
  const merge = {
    worktree: '/srv/app',
    target: 'main',
    previous: 'a'.repeat(40),
    commit: 'b'.repeat(40),
  };

  beforeEach(() => {
    gitDir = mkdtempSync(join(tmpdir(), 'cta-journal-'));
  });
  afterEach(() => rmSync(gitDir, { recursive: true, force: true }));

  it('reads back what was written, and nothing once cleared', () => {
    const journal = new MergeJournal(gitDir);
    expect(journal.read()).toBeNull();
    journal.write(merge);
    expect(new MergeJournal(gitDir).read()).toEqual(merge);
    journal.clear();
    expect(journal.read()).toBeNull();
    journal.clear();
  });

  it.each([
    ['text that is no JSON', '{"worktree": '],
    ['a field missing', JSON.stringify({ ...merge, commit: undefined })],
    ['a commit that is no object id', JSON.stringify({ ...merge, previous: 'HEAD~1' })],
    ['a path that is no string', JSON.stringify({ ...merge, worktree: ['/srv/app'] })],
  ])('reads %s as no journal', (_label, text) => {
    writeFileSync(join(gitDir, MERGE_JOURNAL_NAME), text);
    expect(new MergeJournal(gitDir).read()).toBeNull();
  });

  it('does not follow a symbolic link put in its place', () => {
    const elsewhere = join(gitDir, 'elsewhere.json');
    writeFileSync(elsewhere, JSON.stringify(merge));
    symlinkSync(elsewhere, join(gitDir, MERGE_JOURNAL_NAME));
    expect(new MergeJournal(gitDir).read()).toBeNull();
  });

  it('writes through no link: one planted at its name, or at the name it used to write first, is left alone', () => {
    const victim = join(gitDir, 'victim');
    writeFileSync(victim, 'precious');
    symlinkSync(victim, join(gitDir, MERGE_JOURNAL_NAME));
    symlinkSync(victim, join(gitDir, `${MERGE_JOURNAL_NAME}.${process.pid}.tmp`));
    new MergeJournal(gitDir).write(merge);
    expect(readFileSync(victim, 'utf8')).toBe('precious');
    expect(lstatSync(join(gitDir, MERGE_JOURNAL_NAME)).isFile()).toBe(true);
    expect(new MergeJournal(gitDir).read()).toEqual(merge);
    expect(readdirSync(gitDir).filter((name) => name.endsWith('.tmp'))).toEqual([
      `${MERGE_JOURNAL_NAME}.${process.pid}.tmp`,
    ]);
  });
});
