import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppConfig } from 'src/config';
import { NO_ISOLATION } from 'src/process';
import { WorkspaceRoot } from 'src/workspaces/workspace-root';
import { WorkspaceUsage } from 'src/workspaces/workspace-usage';

describe('WorkspaceUsage', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ws-usage-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const config = Object.assign(new AppConfig(), { WORKSPACES_DIR: dir, WORKSPACES_MAX_GB: 0 });
  const usage = new WorkspaceUsage(config, new WorkspaceRoot(config, NO_ISOLATION));
  const addWorkspace = (id: string) => {
    mkdirSync(join(dir, id));
    writeFileSync(join(dir, id, 'file.txt'), 'x'.repeat(10_000));
  };

  it('answers latest() with the last measurement while a new one runs, snapshot() with the new one', async () => {
    addWorkspace('00000000-0000-4000-8000-000000000001');
    const first = await usage.latest();
    expect(first.count).toBe(1);

    addWorkspace('00000000-0000-4000-8000-000000000002');
    usage.invalidate();
    // Out of date: latest() does not wait, it shows the measurement it has...
    expect(await usage.latest()).toBe(first);
    // ...while the new measurement, started by it, is what snapshot() waits for.
    const second = await usage.snapshot();
    expect(second.count).toBe(2);
    expect(second.bytes).toBeGreaterThan(first.bytes);
    expect(await usage.latest()).toBe(second);
  });
});
