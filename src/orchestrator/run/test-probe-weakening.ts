import { countProbes, probeLanguage } from 'src/test-runner';
import { rustCodeUnderTest } from 'src/orchestrator/run/rust-test-weakening';
import type { Weakening } from 'src/orchestrator/run/test-weakening';

/**
 * TEST PROBES ADDED TO THE CODE UNDER TEST (`test-probes.ts`): code that asks whether it runs
 * under test can pass every existing test and do otherwise everywhere else, so the tests passing
 * no longer speaks for it. Pure. Counted before and after in the code under test (a Rust source
 * file's code outside its tests: `rustCodeUnderTest`), so probes there at the base commit do not
 * count: `test_detection` for each file that has more.
 */
export function testProbeWeakening(path: string, before: string, after: string): Weakening[] {
  const language = probeLanguage(path);
  if (language === null) return [];
  const look = (text: string): Map<string, number> =>
    countProbes(language, language === 'rust' ? rustCodeUnderTest(text) : text);
  const [was, now] = [look(before), look(after)];
  const added = [...now]
    .map(([label, n]) => ({ label, added: n - (was.get(label) ?? 0) }))
    .filter((p) => p.added > 0);
  if (added.length === 0) return [];
  return [
    {
      kind: 'test_detection',
      file: path,
      detail: `added code to ${path} that tells whether it runs under test (${added.map((p) => `\`${p.label}\` ${p.added}x`).join(', ')}): the code under test can then pass the tests and do otherwise everywhere else, so keep it from asking`,
    },
  ];
}
