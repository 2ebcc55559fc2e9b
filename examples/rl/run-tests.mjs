#!/usr/bin/env node
/**
 * The `run_tests` tool of the RL example: apply a one-line patch to a program and run its tests.
 *   node run-tests.mjs PROGRAM.json PATCH.json
 * PROGRAM.json: { fn, source: [lines], tests: [{ args, expected }] }; PATCH.json: { line, text }.
 * Prints one line per test and `passed N failed M` last; exits 0 only when every test passed.
 * Each test runs in a fresh VM context with a time limit (the sandbox bounds the rest).
 */
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import vm from 'node:vm';

const [programPath, patchPath] = process.argv.slice(2);
if (!programPath || !patchPath) {
  process.stderr.write('usage: run-tests.mjs PROGRAM.json PATCH.json\n');
  process.exit(2);
}
const program = JSON.parse(readFileSync(programPath, 'utf8'));
const patch = JSON.parse(readFileSync(patchPath, 'utf8'));
const lines = [...program.source];
if (!Number.isInteger(patch.line) || patch.line < 0 || patch.line >= lines.length) {
  process.stderr.write(`patch line ${patch.line} is outside the program\n`);
  process.exit(2);
}
lines[patch.line] = String(patch.text);
const code = `${lines.join('\n')}\n${program.fn};`;

let passed = 0;
let failed = 0;
for (const [i, test] of program.tests.entries()) {
  let outcome;
  try {
    const fn = vm.runInNewContext(code, {}, { timeout: 1000 });
    const args = vm.runInNewContext(`(${JSON.stringify(test.args)})`);
    const actual = vm.runInNewContext('fn(...args)', { fn, args }, { timeout: 1000 });
    outcome = isDeepStrictEqual(
      JSON.parse(JSON.stringify([actual])),
      JSON.parse(JSON.stringify([test.expected])),
    )
      ? 'ok'
      : `expected ${JSON.stringify(test.expected)}, got ${JSON.stringify(actual)}`;
  } catch (error) {
    outcome = `threw ${error instanceof Error ? error.message : String(error)}`;
  }
  if (outcome === 'ok') passed += 1;
  else failed += 1;
  process.stdout.write(`test ${i + 1}: ${outcome}\n`);
}
process.stdout.write(`passed ${passed} failed ${failed}\n`);
process.exitCode = failed === 0 ? 0 : 1;
