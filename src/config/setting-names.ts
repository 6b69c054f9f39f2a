import leven from 'leven';

/**
 * `.env` names that are near a setting's name but are not one (`AUTH_REQUIRD`, `max_pauses`,
 * `DATABASE_URL_FIEL`): each would be ignored without a word, and the setting it was meant for
 * would keep its default. One message per such name, naming the setting meant. Names far from
 * every setting (`ANTHROPIC_API_KEY` for the CLI, an operator's own) are not this server's
 * business and pass.
 */
export function misspelledSettings(names: Iterable<string>, settings: readonly string[]): string[] {
  const known = new Set(settings.flatMap((setting) => [setting, `${setting}_FILE`]));
  const problems: string[] = [];
  for (const name of names) {
    if (known.has(name)) continue;
    const meant = nearest(name.toUpperCase(), known);
    if (meant !== undefined) {
      problems.push(`.env sets ${name}, which is not a setting: did you mean ${meant}?`);
    }
  }
  return problems;
}

/** The setting within one edit of `name` (two for names of ten characters or more). */
function nearest(name: string, known: ReadonlySet<string>): string | undefined {
  const allowed = name.length >= 10 ? 2 : 1;
  let best: string | undefined;
  let bestDistance = allowed + 1;
  for (const setting of known) {
    const distance = leven(name, setting);
    if (distance < bestDistance) {
      best = setting;
      bestDistance = distance;
    }
  }
  return best;
}
