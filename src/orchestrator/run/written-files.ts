import { isAbsolute, relative, resolve, sep } from 'node:path';

/** Most files remembered per run; the agent's later writes past it are not checked. */
export const MAX_WRITTEN_FILES = 1000;

/** The Claude CLI's file tools, and the input field naming the file each writes. */
const PATH_FIELDS: Readonly<Record<string, string>> = {
  Write: 'file_path',
  Edit: 'file_path',
  MultiEdit: 'file_path',
  NotebookEdit: 'notebook_path',
};

/** The Claude CLI's file tools (they write files; they start no process). */
export const FILE_TOOLS: readonly string[] = Object.keys(PATH_FIELDS);

/**
 * THE FILES THE AGENT WROTE in this run, as its file tools name them, for the check that the
 * commit holds the whole change (`Verification`: files git ignores are left out of it). A file
 * counts once its tool's result says the write happened (not refused, not failed). Files written
 * through the shell are not seen. Kept in memory: a resumed run knows only its own turns.
 */
export class WrittenFiles {
  private readonly paths = new Set<string>();
  /** File tool uses waiting for their result, by tool use id. */
  private readonly pending = new Map<string, string>();

  /** A tool use: when it is one of the file tools, the file it is to write. */
  use(id: string, tool: string, input: unknown): void {
    const field = PATH_FIELDS[tool];
    if (field === undefined || typeof input !== 'object' || input === null) return;
    const path = (input as Record<string, unknown>)[field];
    if (typeof path !== 'string' || path === '' || this.pending.size >= MAX_WRITTEN_FILES) return;
    this.pending.set(id, path);
  }

  /** A tool's result: the file of its use is written unless the tool failed or was refused. */
  result(toolUseId: string, isError: boolean): void {
    const path = this.pending.get(toolUseId);
    if (path === undefined) return;
    this.pending.delete(toolUseId);
    if (!isError && this.paths.size < MAX_WRITTEN_FILES) this.paths.add(path);
  }

  /** The files written inside `directory` (a relative path counts from there), relative to it, sorted. */
  within(directory: string): string[] {
    const inside = new Set<string>();
    for (const path of this.paths) {
      const rel = relative(directory, resolve(directory, path));
      const outside = rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel);
      if (rel !== '' && !outside) inside.add(rel);
    }
    return [...inside].sort();
  }
}
