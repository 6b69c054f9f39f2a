import { readFileSync, writeFileSync } from 'node:fs';
import { startBenchServer } from 'test/bench/support/bench-server';
import { fakeScript } from 'test/e2e/support/task-polling';

const DESCRIPTION = `Add a helper. ${fakeScript('success', 'write-tests lang=node result=pass')}`;
const LOG = '/tmp/gitcount/log';

async function main(): Promise<void> {
  const isolation = process.argv[2] === 'none' ? 'none' : 'worktree';
  process.env.PATH = `/tmp/gitcount/bin:${process.env.PATH}`;
  const bench = await startBenchServer({ MAX_CONCURRENT_TASKS: '4', QUEUE_POLL_MS: '1000' });
  try {
    const sessions = await bench.sessions(1, isolation);
    writeFileSync(LOG, '');
    const ids = await bench.submit(sessions, DESCRIPTION);
    console.log(await bench.waitTerminal(ids));
    console.log(readFileSync(LOG, 'utf8'));
  } finally {
    await bench.stop();
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
