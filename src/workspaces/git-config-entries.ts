/**
 * The variables of `branch.<name>.*` and `remote.<name>.*` that the user's own git commands write
 * to the shared configuration while tasks run beside them (`git checkout -b x origin/x`, `git
 * branch --set-upstream-to`, `git push -u`, `git remote add` and `set-url`), and that make no git
 * command the server runs start a program or read a file differently. `remote.<name>.uploadpack`,
 * `receivepack`, `proxy` and the like are not among them.
 */
const USER_SUBSECTION_VARIABLES: Record<string, ReadonlySet<string>> = {
  branch: new Set(['remote', 'merge', 'rebase', 'pushremote', 'description']),
  remote: new Set(['url', 'pushurl', 'fetch', 'tagopt', 'prune']),
};

/** Who the user is, for their own commits. */
const USER_KEYS: ReadonlySet<string> = new Set(['user.name', 'user.email']);

/**
 * True for a key (as `git config --list` prints it: section and variable lower-cased, the
 * subsection as written) that ordinary user git commands write and that runs nothing: a change
 * to it does not count as a change of the repository's git configuration.
 */
export function isUserSetting(key: string): boolean {
  if (USER_KEYS.has(key)) return true;
  const first = key.indexOf('.');
  const last = key.lastIndexOf('.');
  if (first < 0 || last === first) return false;
  const variables = USER_SUBSECTION_VARIABLES[key.slice(0, first)];
  return variables !== undefined && variables.has(key.slice(last + 1));
}

/**
 * The entries of one configuration file as `git config --file <file> --list -z` printed them, in
 * order: each `<key>\n<value>`, or `<key>` alone for a key without a value (`[core] bare`), read
 * byte for byte (latin1), so that no two different values read the same.
 */
export function configEntries(listing: Buffer): string[] {
  return listing
    .toString('latin1')
    .split('\0')
    .filter((entry) => entry !== '');
}

/**
 * True when two listings of one configuration file (`configEntries`) hold the same entries, in the
 * same order, once the user's settings (`isUserSetting`) are left out of both: git reads the rest
 * the same way. Order counts (the last of a key's values is the one that applies).
 */
export function sameGuardedEntries(before: readonly string[], after: readonly string[]): boolean {
  const guarded = (entries: readonly string[]) => entries.filter((e) => !isUserSetting(keyOf(e)));
  const was = guarded(before);
  const is = guarded(after);
  return was.length === is.length && was.every((entry, i) => entry === is[i]);
}

function keyOf(entry: string): string {
  const end = entry.indexOf('\n');
  return end < 0 ? entry : entry.slice(0, end);
}
