import { decodeXmlEntities, parseJunitXml } from 'src/test-runner/junit-report';

/** As written by `node --test --test-reporter=junit` on Node 20. */
const NODE_REPORT = `<?xml version="1.0" encoding="utf-8"?>
<testsuites>
	<testcase name="add sums two numbers" time="0.002303" classname="test"/>
	<testcase name="fails &lt;&amp;>" time="0.002036" classname="test" failure="Expected values to be strictly equal:2 !== 3">
		<failure type="testCodeFailure" message="Expected values to be strictly equal:2 !== 3">
[Error [ERR_TEST_FAILURE]: Expected values to be strictly equal:

2 !== 3
] {
      at TestContext.&lt;anonymous> (/tmp/exp/node-basic/test/new -x.test.js:5:34)
}
		</failure>
	</testcase>
	<testcase name="skipped one" time="0.000239" classname="test">
		<skipped type="skipped" message="true"/>
	</testcase>
	<testsuite name="suite" time="0.000715" disabled="0" errors="0" tests="1" failures="0" skipped="0" hostname="vm">
		<testcase name="nested ok" time="0.000242" classname="test"/>
	</testsuite>
	<!-- tests 4 -->
</testsuites>`;

/** As written by pytest 9 with `-o junit_family=xunit1`. */
const PYTEST_REPORT = `<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests"><testsuite name="pytest" errors="1" failures="1" skipped="0" tests="3" time="0.035"><testcase classname="tests.test_new -x.T" name="test_bad" file="tests/test_new -x.py" line="5" time="0.001"><failure message="AssertionError: 2 != 3">self = &lt;tests.test_new -x.T testMethod=test_bad&gt;

E       AssertionError: 2 != 3</failure></testcase><testcase classname="tests.test_good.T" name="test_ok" file="tests/test_good.py" line="3" time="1.5" /><testcase classname="tests.test_e" name="test_err" file="tests/test_e.py" time="0"><error message="fixture 'db' not found"><![CDATA[E  fixture 'db' <not> found]]></error><system-out>captured &amp; printed</system-out></testcase></testsuite></testsuites>`;

describe('parseJunitXml', () => {
  it('reads the node --test junit reporter', () => {
    const cases = parseJunitXml(NODE_REPORT);
    expect(cases.map((c) => [c.name, c.status])).toEqual([
      ['add sums two numbers', 'passed'],
      ['fails <&>', 'failed'],
      ['skipped one', 'skipped'],
      ['suite > nested ok', 'passed'],
    ]);
    expect(cases[0].durationMs).toBe(2);
    expect(cases[1].output).toContain('Expected values to be strictly equal');
    expect(cases[1].output).toContain('TestContext.<anonymous>');
    expect(cases[2].output).toBe('');
  });

  it('reads pytest xunit1 reports with files, errors, CDATA and captured output', () => {
    const cases = parseJunitXml(PYTEST_REPORT);
    expect(cases.map((c) => [c.name, c.file, c.status])).toEqual([
      ['test_bad', 'tests/test_new -x.py', 'failed'],
      ['test_ok', 'tests/test_good.py', 'passed'],
      ['test_err', 'tests/test_e.py', 'error'],
    ]);
    expect(cases[0].output).toContain('AssertionError: 2 != 3');
    expect(cases[0].output).toContain('self = <tests.test_new -x.T');
    expect(cases[1].durationMs).toBe(1500);
    expect(cases[2].output).toContain("fixture 'db' not found");
    expect(cases[2].output).toContain("E  fixture 'db' <not> found");
    expect(cases[2].output).toContain('system-out:\ncaptured & printed');
  });

  it('inherits the file of an enclosing suite and handles single-quoted attributes', () => {
    const cases = parseJunitXml(
      `<testsuites><testsuite name='math' file='src/math.test.ts'><testcase name='adds' time='0.01'/></testsuite></testsuites>`,
    );
    expect(cases).toEqual([
      {
        name: 'math > adds',
        classname: null,
        file: 'src/math.test.ts',
        status: 'passed',
        durationMs: 10,
        output: '',
      },
    ]);
  });

  it('returns no cases for an empty report', () => {
    expect(parseJunitXml('<?xml version="1.0"?>\n<testsuites>\n</testsuites>\n')).toEqual([]);
  });

  it.each([
    '<testsuites><testcase name="a">',
    '<a></b>',
    'not xml < at all',
    '<testsuites></testsuites></x>',
  ])('throws on malformed input %j', (xml) => {
    expect(() => parseJunitXml(xml)).toThrow();
  });

  it('decodes entities, leaving unknown ones alone', () => {
    expect(decodeXmlEntities('&lt;&#65;&#x42;&amp;&nbsp;&#99999999;')).toBe(
      '<AB&&nbsp;&#99999999;',
    );
  });
});
