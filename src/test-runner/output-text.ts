/** Colour codes, should a tool's output have them (`FORCE_COLOR`). */
// eslint-disable-next-line no-control-regex -- the escape that starts a colour code
const ANSI = /\u001b\[[0-9;]*m/g;

/** A test tool's output without its colour codes. */
export const withoutColour = (output: string): string => output.replace(ANSI, '');

/** Test names once each, sorted, as a summary's `failing` and `names` hold them. */
export const sortedNames = (names: Iterable<string>): string[] => [...new Set(names)].sort();
