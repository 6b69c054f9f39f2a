/** Longest slug taken from a task's description. */
const MAX_SLUG_LENGTH = 40;

/** A short, ref-safe name from free text: lower-case words of letters and digits joined by '-'. */
export function slugOf(text: string): string {
  const words = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((word) => word !== '');
  let slug = '';
  for (const word of words) {
    const next = slug === '' ? word : `${slug}-${word}`;
    if (next.length > MAX_SLUG_LENGTH) {
      if (slug === '') slug = word.slice(0, MAX_SLUG_LENGTH);
      break;
    }
    slug = next;
  }
  return slug;
}

/**
 * The branch names a task's workspace may take, in order of preference:
 * `<prefix><first 8 of the id>-<slug>`, then the same with the whole id (should the short one be
 * taken by a branch of an earlier task). The slug is left out when the description has no word.
 */
export function branchCandidates(prefix: string, taskId: string, description: string): string[] {
  const slug = slugOf(description);
  const name = (id: string): string => `${prefix}${slug === '' ? id : `${id}-${slug}`}`;
  return [name(taskId.slice(0, 8)), name(taskId)];
}
