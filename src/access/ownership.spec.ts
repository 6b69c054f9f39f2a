import { DomainError, ErrorCode, HiddenObjectError } from 'src/common';
import { assertVisible, canSee, ownerFilter } from 'src/access/ownership';
import { LOCAL_PRINCIPAL, Principal } from 'src/access/principal';

const key = (id: string, scope: 'admin' | 'tasks:write' | 'tasks:read'): Principal => ({
  kind: 'key',
  keyId: id,
  keyPrefix: `cta_${id}`,
  scopes: [scope],
});
const notFound = (): DomainError => new DomainError(ErrorCode.TaskNotFound, 'Task t not found');

describe('ownership', () => {
  it('lets a key see what it owns, admins everything, nobody else anything', () => {
    expect(canSee(key('a', 'tasks:read'), { ownerKeyId: 'a' })).toBe(true);
    expect(canSee(key('b', 'tasks:write'), { ownerKeyId: 'a' })).toBe(false);
    expect(canSee(key('b', 'tasks:write'), { ownerKeyId: null })).toBe(false);
    expect(canSee(key('z', 'admin'), { ownerKeyId: 'a' })).toBe(true);
    expect(canSee(LOCAL_PRINCIPAL, { ownerKeyId: 'a' })).toBe(true);
  });

  it("answers another key's object exactly like a missing one", () => {
    const owned = { ownerKeyId: 'a', id: 't' };
    expect(assertVisible(key('a', 'tasks:read'), owned, notFound)).toBe(owned);
    for (const attempt of [
      () => assertVisible(key('b', 'tasks:read'), owned, notFound),
      () => assertVisible(key('b', 'tasks:read'), null, notFound),
    ]) {
      expect(attempt).toThrow(new DomainError(ErrorCode.TaskNotFound, 'Task t not found'));
    }
    // The same answer; only the audit trail tells them apart.
    expect(() => assertVisible(key('b', 'tasks:read'), owned, notFound)).toThrow(HiddenObjectError);
    let missing: unknown = null;
    try {
      assertVisible(key('b', 'tasks:read'), null, notFound);
    } catch (error) {
      missing = error;
    }
    expect(missing).toBeInstanceOf(DomainError);
    expect(missing).not.toBeInstanceOf(HiddenObjectError);
  });

  it('restricts lists to the key, not admins', () => {
    expect(ownerFilter(key('a', 'tasks:read'))).toBe('a');
    expect(ownerFilter(key('z', 'admin'))).toBeUndefined();
    expect(ownerFilter({ kind: 'monitor', keyId: null, keyPrefix: null, scopes: [] })).toBe('-');
  });
});
