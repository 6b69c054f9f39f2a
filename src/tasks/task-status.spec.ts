import {
  assertTransition,
  canTransition,
  IllegalTransitionError,
  isTerminal,
  TASK_STATUSES,
  TaskStatus,
} from 'src/tasks/task-status';

const { Pending, Running, Paused, Testing, Completed, Failed, Cancelled } = TaskStatus;

/** Every allowed edge; anything not listed must be rejected. */
const ALLOWED: [TaskStatus, TaskStatus][] = [
  [Pending, Running],
  [Pending, Cancelled],
  [Pending, Failed],
  [Running, Paused],
  [Running, Testing],
  [Running, Failed],
  [Running, Cancelled],
  [Running, Pending],
  [Paused, Running],
  [Paused, Testing],
  [Paused, Failed],
  [Paused, Cancelled],
  [Paused, Pending],
  [Testing, Running],
  [Testing, Paused],
  [Testing, Completed],
  [Testing, Failed],
  [Testing, Cancelled],
  [Testing, Pending],
];

const allPairs: [TaskStatus, TaskStatus][] = TASK_STATUSES.flatMap((from) =>
  TASK_STATUSES.map((to): [TaskStatus, TaskStatus] => [from, to]),
);
const isAllowed = (from: TaskStatus, to: TaskStatus): boolean =>
  ALLOWED.some(([a, b]) => a === from && b === to);

describe('task status transitions', () => {
  it.each(ALLOWED)('allows %s -> %s', (from, to) => {
    expect(canTransition(from, to)).toBe(true);
    expect(() => assertTransition(from, to)).not.toThrow();
  });

  it.each(allPairs.filter(([from, to]) => !isAllowed(from, to)))(
    'rejects %s -> %s with an IllegalTransitionError',
    (from, to) => {
      expect(canTransition(from, to)).toBe(false);
      let thrown: unknown;
      try {
        assertTransition(from, to);
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(IllegalTransitionError);
      expect(thrown).toMatchObject({ from, to });
    },
  );

  it('never lets RUNNING complete without TESTING', () => {
    expect(canTransition(Running, Completed)).toBe(false);
  });

  it('treats exactly COMPLETED, FAILED and CANCELLED as terminal, with no way out', () => {
    expect(TASK_STATUSES.filter(isTerminal)).toEqual([Completed, Failed, Cancelled]);
    for (const status of [Completed, Failed, Cancelled]) {
      expect(TASK_STATUSES.filter((to) => canTransition(status, to))).toEqual([]);
    }
  });
});
