import {
  dependencyFindings,
  MAX_NAMED_DEPENDENCIES,
} from 'src/orchestrator/run/changed-dependencies';

describe('installed dependencies changed while the agent worked', () => {
  it('a run in place looks at none and finds nothing', () => {
    expect(dependencyFindings({ kind: 'in_place' }, ['package.json'])).toEqual({
      named: [],
      changed: null,
      unmade: null,
    });
  });

  it('nothing changed: nothing to say', () => {
    expect(
      dependencyFindings({ kind: 'looked', changes: { changed: [], truncated: false } }, []),
    ).toEqual({ named: [], changed: null, unmade: null });
  });

  it('a changed package is named, and so are the manifests the change edits', () => {
    const found = dependencyFindings(
      { kind: 'looked', changes: { changed: ['node_modules/dep'], truncated: false } },
      ['package.json'],
    );
    expect(found.named).toEqual(['node_modules/dep']);
    expect(found.unmade).toBeNull();
    expect(found.changed).toBe(
      'installed dependencies changed while the agent worked: node_modules/dep; the tests ran with them as the agent left them (the scratch checkouts link them too), which the commit does not hold; the change also edits package.json, but no test ran with dependencies installed from them afresh',
    );
  });

  it('names a bounded list, counting the rest, and says where the look stopped', () => {
    const changed = Array.from({ length: MAX_NAMED_DEPENDENCIES + 3 }, (_, i) => `venv/p${i}`);
    const found = dependencyFindings({ kind: 'looked', changes: { changed, truncated: true } }, []);
    expect(found.named).toEqual(changed.slice(0, MAX_NAMED_DEPENDENCIES));
    expect(found.changed).toContain(`venv/p${MAX_NAMED_DEPENDENCIES - 1} (and 3 more);`);
    expect(found.changed).toMatch(
      /the look at them stopped after 300000 entries, so there may be more$/,
    );
    expect(found.unmade).toBeNull();
  });

  it('a look stopped at its bound with nothing found, or no mark, is a check unmade', () => {
    expect(
      dependencyFindings({ kind: 'looked', changes: { changed: [], truncated: true } }, []),
    ).toEqual({
      named: [],
      changed: null,
      unmade:
        'installed dependencies: the look at them stopped after 300000 entries, so whether the agent changed what it did not reach could not be told',
    });
    expect(dependencyFindings({ kind: 'unmarked' }, []).unmade).toMatch(
      /^installed dependencies: no mark of them was taken/,
    );
  });
});
