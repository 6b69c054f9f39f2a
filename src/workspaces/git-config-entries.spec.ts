import {
  configEntries,
  isUserSetting,
  sameGuardedEntries,
} from 'src/workspaces/git-config-entries';

/** A listing as `git config --list -z` prints one. */
const listing = (...entries: string[]): Buffer =>
  Buffer.from(entries.map((e) => `${e}\0`).join(''), 'latin1');

describe('isUserSetting', () => {
  it.each([
    'branch.feature.remote',
    'branch.feature.merge',
    'branch.feature.rebase',
    'branch.feature.pushremote',
    'branch.feature.description',
    'branch.Feat.ure/x.remote',
    'remote.origin2.url',
    'remote.origin2.pushurl',
    'remote.origin2.fetch',
    'remote.origin2.tagopt',
    'remote.origin2.prune',
    'user.name',
    'user.email',
  ])('passes %s', (key) => {
    expect(isUserSetting(key)).toBe(true);
  });

  it.each([
    'filter.x.clean',
    'filter.x.smudge',
    'core.hookspath',
    'core.fsmonitor',
    'include.path',
    'includeif.gitdir:/x.path',
    'alias.st',
    'diff.x.textconv',
    'merge.x.driver',
    'remote.origin.uploadpack',
    'remote.origin.receivepack',
    'remote.origin.proxy',
    'branch.feature.mergeoptions',
    'branch.autosetupmerge',
    'remote.pushdefault',
    'user.signingkey',
    'user.x.name',
  ])('holds %s', (key) => {
    expect(isUserSetting(key)).toBe(false);
  });
});

describe('configEntries', () => {
  it('reads each entry with its value, a key without one alone, bytes as they are', () => {
    const bytes = Buffer.concat([
      listing('core.bare\nfalse', 'user.name', 'remote.o.url\na\nb'),
      Buffer.from([0x63, 0x2e, 0x78, 0x0a, 0xff, 0x00]),
    ]);
    expect(configEntries(bytes)).toEqual([
      'core.bare\nfalse',
      'user.name',
      'remote.o.url\na\nb',
      'c.x\n\xff',
    ]);
  });
});

describe('sameGuardedEntries', () => {
  const before = configEntries(
    listing('core.bare\nfalse', 'remote.origin.url\nhttps://a', 'branch.main.remote\norigin'),
  );
  const same = (...after: string[]) => sameGuardedEntries(before, configEntries(listing(...after)));

  it('passes changes to the user settings alone: an upstream set, a remote added, one moved', () => {
    expect(
      same(
        'core.bare\nfalse',
        'remote.origin.url\nhttps://b',
        'branch.main.remote\norigin2',
        'branch.feature.remote\norigin',
        'branch.feature.merge\nrefs/heads/feature',
        'remote.origin2.url\nhttps://token@c',
        'remote.origin2.fetch\n+refs/heads/*:refs/remotes/origin2/*',
        'user.email\nme@example.com',
      ),
    ).toBe(true);
    expect(same('core.bare\nfalse')).toBe(true);
  });

  it.each<[string, string[]]>([
    ['a filter added', ['core.bare\nfalse', 'filter.x.clean\ntouch /tmp/pwned']],
    [
      'a filter added with an upstream',
      ['core.bare\nfalse', 'branch.feature.remote\norigin', 'filter.x.clean\ntouch /tmp/pwned'],
    ],
    ['a value changed', ['core.bare\ntrue']],
    ['a value given where there was none', ['core.bare']],
    ['an entry removed', []],
    ['core.hooksPath', ['core.bare\nfalse', 'core.hookspath\n/tmp/hooks']],
    ['an include', ['core.bare\nfalse', 'include.path\n/tmp/evil']],
    ['a remote program', ['core.bare\nfalse', 'remote.origin.uploadpack\n/tmp/evil']],
  ])('refuses %s', (_, after) => {
    expect(same(...after)).toBe(false);
  });

  it("counts order: the last of a key's values is the one git takes", () => {
    const two = configEntries(listing('core.hookspath\n/a', 'core.hookspath\n/b'));
    const swapped = configEntries(listing('core.hookspath\n/b', 'core.hookspath\n/a'));
    expect(sameGuardedEntries(two, swapped)).toBe(false);
    expect(sameGuardedEntries(two, two)).toBe(true);
  });
});
