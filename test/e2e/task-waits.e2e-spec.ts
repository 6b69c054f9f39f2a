import { IncomingMessage, ServerResponse } from 'node:http';
import { waitForTerminal } from 'test/e2e/support/task-polling';
import { followTask, loopbackServer } from 'test/e2e/support/task-wakeups';

/**
 * How the e2e waits (`waitForTerminal`, over `followTask`) behave against a server whose answers
 * the test chooses: a plain node:http server standing in for the API's two routes, the task's
 * event stream and its status. The stream followed, the wait reads the status only when the stream
 * says the task ended; refused or closed by the server, it falls back to reading it again and
 * again. The tests wait for the server's answers and the stream's end, not for a time.
 */

const TASK = '7f0c1a52-5b1e-4c4e-9d0e-2f3a4b5c6d7e';

type Stream = 'refuse' | 'follow';

/** The stand-ins a test started, closed after it whatever it found. */
const opens: StandIn[] = [];

interface StandIn {
  url: string;
  /** Status reads answered so far. */
  reads: number;
  /** The open event stream, while there is one. */
  stream: ServerResponse | null;
  /** Resolves once a client has the event stream open. */
  streamOpen: Promise<void>;
  /** From now on the status read answers COMPLETED. */
  finish(): void;
  close(): Promise<void>;
}

/** A stand-in for the API that answers RUNNING until `finish`, and treats the stream as `stream` says. */
async function standIn(
  stream: Stream,
  onRead: (reads: number) => void = () => {},
): Promise<StandIn> {
  let done = false;
  let opened!: () => void;
  const state: StandIn = {
    url: '',
    reads: 0,
    stream: null,
    streamOpen: new Promise((resolve) => (opened = resolve)),
    finish: () => (done = true),
    close: () => Promise.resolve(),
  };
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.url === `/api/v1/tasks/${TASK}/events`) {
      if (stream === 'refuse') {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{}');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': open\n\n');
      state.stream = res;
      opened();
      return;
    }
    if (req.url === `/api/v1/tasks/${TASK}/status`) {
      state.reads += 1;
      const body = {
        id: TASK,
        status: done ? 'COMPLETED' : 'RUNNING',
        status_reason: done ? 'tests_passed' : 'agent_turn',
        phase: done ? 'done' : 'agent_turn',
        iteration: 1,
        updated_at: '2026-12-06T00:00:00.000Z',
      };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      onRead(state.reads);
      return;
    }
    res.writeHead(404).end();
  };
  const listening = await loopbackServer(handle);
  state.url = listening.url;
  state.close = listening.close;
  opens.push(state);
  return state;
}

const DAY_MS = 24 * 3600 * 1000;

/**
 * 'woken' when `wake` resolves within a minute, else what is still the case then. A wake-up
 * that comes "at once" comes within POLL_MS (50 ms): a minute is a bound only a wait asked for a
 * day ahead can pass, on any machine.
 */
async function wokenWithinAMinute(wake: Promise<void>): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const aMinute = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve('still waiting after a minute'), 60_000);
  });
  try {
    return await Promise.race([wake.then(() => 'woken'), aMinute]);
  } finally {
    clearTimeout(timer);
  }
}

describe('e2e waits on a task', () => {
  afterEach(async () => {
    await Promise.all(opens.splice(0).map((api) => api.close()));
  });

  it("following the event stream, reads the status at the stream's end, not on a clock of its own", async () => {
    // The task ends 200 ms after the first read: a wait that read every 50 ms would read RUNNING
    // again meanwhile, four times or more; one that follows the stream reads once more, at the
    // end (twice only if the machine held its loop back past its one-second look).
    const api = await standIn('follow', (reads) => {
      if (reads !== 1) return;
      setTimeout(() => {
        api.finish();
        api.stream!.end('event: end\ndata: {"status":"COMPLETED"}\n\n');
      }, 200);
    });
    const { final } = await waitForTerminal(api.url, TASK);
    expect(final.status).toBe('COMPLETED');
    expect(api.reads).toBeLessThanOrEqual(3);
  });

  it('where the stream is refused, reads the status again and again until the task ended', async () => {
    const api = await standIn('refuse', (reads) => {
      if (reads === 5) api.finish();
    });
    const { final } = await waitForTerminal(api.url, TASK);
    expect(final.status).toBe('COMPLETED');
    expect(api.reads).toBe(6);
  });

  it('where the server closes the stream it followed, a wake-up asked for far ahead comes at once', async () => {
    const api = await standIn('follow');
    const wakeups = await followTask(api.url, TASK);
    await api.streamOpen;
    api.stream!.destroy();
    try {
      await expect(wokenWithinAMinute(wakeups.next(DAY_MS))).resolves.toBe('woken');
      await expect(wokenWithinAMinute(wakeups.next(DAY_MS))).resolves.toBe('woken');
    } finally {
      await wakeups.close();
    }
  });
});
