/**
 * The small Node project the verification e2e files script agents against: `src/math.js` with
 * `add`, the change that adds `multiply`, and a `node --test` file that tests it.
 */

export const MATH = "'use strict';\n\nexports.add = (a, b) => a + b;\n";

export const MATH_WITH_MULTIPLY =
  "'use strict';\n\nexports.add = (a, b) => a + b;\nexports.multiply = (a, b) => a * b;\n";

export const MULTIPLY_TEST = [
  "'use strict';",
  "const test = require('node:test');",
  "const assert = require('node:assert');",
  "const { multiply } = require('../src/math');",
  '',
  "test('multiplies', () => assert.strictEqual(multiply(3, 4), 12));",
  '',
].join('\n');
