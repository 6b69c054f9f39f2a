import { Session } from 'src/sessions/session.entity';
import { toSessionResponse } from 'src/sessions/session.mapper';

describe('toSessionResponse', () => {
  it('maps a session', () => {
    const created = new Date('2026-11-25T06:00:00.123Z');
    const session = Object.assign(new Session(), {
      id: 's1',
      name: null,
      projectPath: '/p',
      testCommand: 'npx jest',
      regressionCommand: null,
      isolation: 'worktree',
      baseRef: 'main',
      setupCommand: 'npm ci',
      createdAt: created,
      updatedAt: created,
    });
    expect(toSessionResponse(session)).toEqual({
      id: 's1',
      name: null,
      project_path: '/p',
      test_command: 'npx jest',
      regression_command: null,
      isolation: 'worktree',
      base_ref: 'main',
      setup_command: 'npm ci',
      created_at: '2026-11-25T06:00:00.123Z',
      updated_at: '2026-11-25T06:00:00.123Z',
    });
  });
});
