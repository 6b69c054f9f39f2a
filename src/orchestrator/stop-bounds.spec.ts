import { whyNotRequeued } from 'src/orchestrator/stop-bounds';

describe('whyNotRequeued', () => {
  it('queues a task again until its server was seen to die MAX_TASK_ATTEMPTS times', () => {
    expect(whyNotRequeued(2, 0, 3)).toBeNull();
    expect(whyNotRequeued(3, 0, 3)).toBe(
      'The server running this task stopped 3 time(s); MAX_TASK_ATTEMPTS is 3.',
    );
  });

  it('bounds the leases that ran out with their owner unseen (another host) by twice MAX_TASK_ATTEMPTS', () => {
    expect(whyNotRequeued(0, 5, 3)).toBeNull();
    expect(whyNotRequeued(2, 5, 3)).toBeNull();
    expect(whyNotRequeued(0, 6, 3)).toMatch(
      /^The lease of the server running this task ran out 6 time\(s\) without that server being seen to stop .*twice MAX_TASK_ATTEMPTS \(6\)\.$/,
    );
  });
});
