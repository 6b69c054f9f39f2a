/**
 * A small JUnit XML reader for the reports test tools write (`node --test --test-reporter=junit`,
 * pytest `--junitxml`). It reads only what the TestRunner stores: each
 * `<testcase>` with its suite path, file, time and outcome (`<failure>`, `<error>`, `<skipped>`,
 * plus `system-out`/`system-err` text). Not a general XML parser: no DTDs, no namespaces;
 * comments, processing instructions and CDATA are handled.
 */
export type JunitStatus = 'passed' | 'failed' | 'error' | 'skipped';

export interface JunitCase {
  /** Test name, prefixed with enclosing suite names for nested suites ("suite > case"). */
  name: string;
  classname: string | null;
  file: string | null;
  status: JunitStatus;
  durationMs: number;
  /** Failure/error message and body, then captured output. */
  output: string;
}

interface Element {
  name: string;
  attrs: Record<string, string>;
  children: Element[];
  text: string;
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

export function decodeXmlEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (all, ref: string) => {
    if (ref.startsWith('#x')) return safeCodePoint(parseInt(ref.slice(2), 16), all);
    if (ref.startsWith('#')) return safeCodePoint(parseInt(ref.slice(1), 10), all);
    return ENTITIES[ref] ?? all;
  });
}

function safeCodePoint(code: number, fallback: string): string {
  return Number.isInteger(code) && code >= 0 && code <= 0x10ffff
    ? String.fromCodePoint(code)
    : fallback;
}

function parseAttributes(source: string): Record<string, string> {
  const attrs: Record<string, string> = {};
  const re = /([A-Za-z_:][-A-Za-z0-9_:.]*)\s*=\s*("([^"]*)"|'([^']*)')/g;
  for (const m of source.matchAll(re)) {
    attrs[m[1]] = decodeXmlEntities(m[3] ?? m[4] ?? '');
  }
  return attrs;
}

/** Parses XML into a light element tree; throws on input that is not well-formed enough. */
function parseXml(xml: string): Element {
  const root: Element = { name: '#root', attrs: {}, children: [], text: '' };
  const stack: Element[] = [root];
  const token =
    /<!\[CDATA\[([\s\S]*?)\]\]>|<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<!DOCTYPE[^>]*>|<\/\s*([^\s>]+)\s*>|<([^\s/>!?]+)((?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>|([^<]+)/g;
  let last = 0;
  for (const m of xml.matchAll(token)) {
    if (m.index !== last) throw new Error(`unexpected markup at offset ${last}`);
    last = m.index + m[0].length;
    const top = stack[stack.length - 1];
    if (m[1] !== undefined) {
      top.text += m[1];
    } else if (m[2] !== undefined) {
      if (stack.length === 1 || top.name !== m[2]) {
        throw new Error(`unexpected closing tag </${m[2]}>`);
      }
      stack.pop();
    } else if (m[3] !== undefined) {
      const el: Element = {
        name: m[3],
        attrs: parseAttributes(m[4] ?? ''),
        children: [],
        text: '',
      };
      top.children.push(el);
      if (m[5] !== '/') stack.push(el);
    } else if (m[6] !== undefined) {
      top.text += decodeXmlEntities(m[6]);
    }
  }
  if (last !== xml.length) throw new Error(`unexpected markup at offset ${last}`);
  if (stack.length !== 1) throw new Error(`unclosed element <${stack[stack.length - 1].name}>`);
  return root;
}

function textOf(el: Element): string {
  return el.text + el.children.map(textOf).join('');
}

function durationMs(time: string | undefined): number {
  const seconds = Number(time);
  return Number.isFinite(seconds) && seconds >= 0 ? Math.round(seconds * 1000) : 0;
}

function caseFrom(el: Element, suites: string[], inheritedFile: string | null): JunitCase {
  let status: JunitStatus = 'passed';
  const parts: string[] = [];
  for (const child of el.children) {
    if (child.name === 'failure' || child.name === 'error') {
      if (status !== 'failed') status = child.name === 'failure' ? 'failed' : 'error';
      const message = child.attrs.message ?? '';
      const body = textOf(child).trim();
      parts.push(
        message !== '' && !body.includes(message) ? `${message}\n${body}`.trim() : body || message,
      );
    } else if (child.name === 'skipped') {
      if (status === 'passed') status = 'skipped';
      const message = child.attrs.message ?? '';
      if (message !== '' && message !== 'true') parts.push(`skipped: ${message}`);
    } else if (child.name === 'system-out' || child.name === 'system-err') {
      const text = textOf(child).trim();
      if (text !== '') parts.push(`${child.name}:\n${text}`);
    }
  }
  const name = el.attrs.name ?? '(unnamed test)';
  return {
    name: [...suites, name].join(' > '),
    classname: el.attrs.classname ?? null,
    file: el.attrs.file ?? inheritedFile,
    status,
    durationMs: durationMs(el.attrs.time),
    output: parts.filter((p) => p !== '').join('\n\n'),
  };
}

function collect(el: Element, suites: string[], file: string | null, out: JunitCase[]): void {
  for (const child of el.children) {
    if (child.name === 'testcase') {
      out.push(caseFrom(child, suites, file));
    } else if (child.name === 'testsuite' || child.name === 'testsuites') {
      const suiteName = child.attrs.name;
      const nested =
        child.name === 'testsuite' && suiteName !== undefined && !isToolSuiteName(suiteName)
          ? [...suites, suiteName]
          : suites;
      collect(child, nested, child.attrs.file ?? file, out);
    }
  }
}

/** Top-level suite names some tools use for the whole run, not worth repeating in every name. */
function isToolSuiteName(name: string): boolean {
  return name === 'pytest' || name === '' || name.startsWith('pytest ');
}

/** The test cases in a JUnit XML document. Throws when the document cannot be parsed. */
export function parseJunitXml(xml: string): JunitCase[] {
  const cases: JunitCase[] = [];
  collect(parseXml(xml), [], null, cases);
  return cases;
}
