import { spawn } from 'node:child_process';
import { MockAnthropicApi } from 'test/contract/mock-anthropic-api';
async function main() {
  const api = new MockAnthropicApi();
  const url = await api.start();
  const status = Number(process.argv[2] ?? 529);
  for (let i = 0; i < 10; i++) api.script({ kind: 'error', status, errorType: status === 529 ? 'overloaded_error' : 'invalid_request_error', message: status === 529 ? 'Overloaded' : 'bad' });
  const child = spawn('/work/main/node_modules/.bin/claude', ['-p', '--output-format=stream-json', '--verbose', '--', 'hello'], {
    cwd: '/tmp/cli-probe/proj', env: { PATH: process.env.PATH, HOME: '/tmp/cli-probe', ANTHROPIC_API_KEY: 'sk-dummy', ANTHROPIC_BASE_URL: url, CLAUDE_CODE_MAX_RETRIES: '0', DISABLE_AUTOUPDATER: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = ''; let err = '';
  child.stdout.on('data', (d) => (out += d)); child.stderr.on('data', (d) => (err += d));
  child.on('close', async (code) => {
    console.log(out.split('\n').filter(l => !l.includes('"subtype":"init"')).join('\n'));
    console.log('EXIT', code, err.slice(0, 500));
    await api.stop();
  });
}
void main();
