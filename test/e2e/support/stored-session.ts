import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { Session } from 'src/sessions/session.entity';

/**
 * Stores a session row as it is, past the API's checks: one an older server made (a project path
 * a rule refuses now), or one no key owns (made while keys were not required). Returns its id.
 */
export async function storeSession(dataSource: DataSource, projectPath: string): Promise<string> {
  const id = randomUUID();
  const now = new Date();
  await dataSource.getRepository(Session).insert({
    id,
    name: null,
    projectPath,
    testCommand: null,
    regressionCommand: null,
    isolation: 'none',
    baseRef: null,
    setupCommand: null,
    requireFailingTests: null,
    autoRespond: null,
    humanTimeoutSeconds: null,
    ownerKeyId: null,
    createdAt: now,
    updatedAt: now,
  });
  return id;
}
