import { branchCandidates, slugOf } from 'src/workspaces/branch-name';

describe('task branch names', () => {
  it.each([
    ['Add a multiply function in src/multiply.js', 'add-a-multiply-function-in-src-multiply'],
    ['  Déjà vu: Über-Fix!! ', 'deja-vu-uber-fix'],
    ['Fix it. [[x:edit path=a.js]]', 'fix-it-x-edit-path-a-js'],
    ['日本語だけ', ''],
    ['x'.repeat(60), 'x'.repeat(40)],
    ['refs/heads/../..lock ~^:?*[\\ @{', 'refs-heads-lock'],
  ])('slug of %j is %j', (text, slug) => {
    expect(slugOf(text)).toBe(slug);
  });

  it('prefers the short id, then the whole id', () => {
    expect(
      branchCandidates('cta/', '9b2e7c1a-5d4f-4e3b-8a6c-1f2d3e4a5b6c', 'Add CSV export'),
    ).toEqual([
      'cta/9b2e7c1a-add-csv-export',
      'cta/9b2e7c1a-5d4f-4e3b-8a6c-1f2d3e4a5b6c-add-csv-export',
    ]);
    expect(branchCandidates('', '9b2e7c1a-5d4f', '???')).toEqual(['9b2e7c1a', '9b2e7c1a-5d4f']);
  });
});
