/**
 * A benchmark's command-line arguments (`process.argv[2]` on), checked: a mistyped one stops the
 * run with its name and what it takes, rather than measuring something else (`Number('6x')` is
 * NaN, and an unknown word would quietly be the default).
 */

function given(position: number): string | undefined {
  const value = process.argv[position + 1];
  return value === undefined || value === '' ? undefined : value;
}

/** The whole number at `position` (1 = the first argument), at least `min`; `fallback` if absent. */
export function wholeArg(position: number, name: string, fallback: number, min = 1): number {
  const text = given(position);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`argument ${position} (${name}): a whole number ≥ ${min}, not "${text}"`);
  }
  return value;
}

/** The word at `position`, one of `choices`; `choices[0]` if absent. */
export function choiceArg<T extends string>(
  position: number,
  name: string,
  choices: readonly [T, ...T[]],
): T {
  const text = given(position);
  if (text === undefined) return choices[0];
  if (!(choices as readonly string[]).includes(text)) {
    throw new Error(`argument ${position} (${name}): one of ${choices.join(', ')}, not "${text}"`);
  }
  return text as T;
}
