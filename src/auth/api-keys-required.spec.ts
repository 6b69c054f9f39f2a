import type { DataSource, Repository } from 'typeorm';
import { Clock } from 'src/common';
import type { ApiKey } from 'src/auth/api-key.entity';
import { ApiKeysService } from 'src/auth/api-keys.service';

/** A clock that moves only when told. */
class StoppedClock extends Clock {
  ms = 1_000_000;

  override nowMs(): number {
    return this.ms;
  }
}

/** "Are keys required?": what it answers without the database, and when it must ask it. */
describe('ApiKeysService.knownRequired', () => {
  const setUp = (keysExist: boolean) => {
    const exists = jest.fn(() => Promise.resolve(keysExist));
    const clock = new StoppedClock();
    const dataSource = { getMetadata: () => ({}) } as unknown as DataSource;
    const keys = new ApiKeysService({ exists } as unknown as Repository<ApiKey>, dataSource, clock);
    return { keys, exists, clock };
  };

  it('answers AUTH_REQUIRED when it is set, without the database', () => {
    const { keys, exists } = setUp(true);
    expect(keys.knownRequired(false)).toBe(false);
    expect(keys.knownRequired(true)).toBe(true);
    expect(exists).not.toHaveBeenCalled();
  });

  it('cannot tell before the first check; then "no key" holds for a second', async () => {
    const { keys, exists, clock } = setUp(false);
    expect(keys.knownRequired(undefined)).toBeUndefined();
    await expect(keys.required(undefined)).resolves.toBe(false);
    expect(keys.knownRequired(undefined)).toBe(false);
    clock.ms += 999;
    expect(keys.knownRequired(undefined)).toBe(false);
    clock.ms += 1;
    expect(keys.knownRequired(undefined)).toBeUndefined();
    expect(exists).toHaveBeenCalledTimes(1);
  });

  it('answers "required" for good once a key was seen', async () => {
    const { keys, clock } = setUp(true);
    await expect(keys.required(undefined)).resolves.toBe(true);
    clock.ms += 3_600_000;
    expect(keys.knownRequired(undefined)).toBe(true);
  });
});
