import { readdirSync, rmdirSync, statSync } from 'node:fs';
import { EmptyDirectory } from 'src/workspaces/empty-directory';

describe('EmptyDirectory', () => {
  it('is made once, empty and closed to writes, made anew when gone, and removed', async () => {
    const empty = new EmptyDirectory('cta-empty-spec-');
    const dir = empty.path();
    expect(readdirSync(dir)).toEqual([]);
    expect(statSync(dir).mode & 0o777).toBe(0o555);
    expect(empty.path()).toBe(dir);
    rmdirSync(dir);
    const again = empty.path();
    expect(again).not.toBe(dir);
    expect(statSync(again).isDirectory()).toBe(true);
    await empty.remove();
    expect(statSync(again, { throwIfNoEntry: false })).toBeUndefined();
  });
});
