import { goneGroups } from 'src/process/gone-groups';

describe('goneGroups', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('knows a group noted gone until a process of that id starts, or for 10 s', () => {
    goneGroups.note(424242);
    expect(goneGroups.has(424242)).toBe(true);
    expect(goneGroups.has(424243)).toBe(false);
    goneGroups.forget(424242);
    expect(goneGroups.has(424242)).toBe(false);

    goneGroups.note(424244);
    jest.advanceTimersByTime(10_000);
    expect(goneGroups.has(424244)).toBe(true);
    jest.advanceTimersByTime(1);
    expect(goneGroups.has(424244)).toBe(false);
  });

  it('keeps at most 4096 groups, forgetting the oldest first', () => {
    for (let pgid = 500_000; pgid <= 504_096; pgid += 1) goneGroups.note(pgid);
    expect(goneGroups.has(500_000)).toBe(false);
    expect(goneGroups.has(500_001)).toBe(true);
    expect(goneGroups.has(504_096)).toBe(true);
  });
});
