import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  extractCodeBlocks,
  fileNameFor,
  safeRelativePath,
  saveCodeBlocks,
  uniqueName,
} from '../../plugins/lib/code-blocks.js';
import { extractFindings } from '../../plugins/lib/findings.js';
import { testDir } from '../helpers/tmp.js';

const answer = [
  'Here is the module.',
  '',
  '```python src/fib.py',
  'def fib(n):',
  '    return n if n < 2 else fib(n - 1) + fib(n - 2)',
  '```',
  '',
  '```ts title="lib/add.ts"',
  'export const add = (a: number, b: number) => a + b;',
  '```',
  '',
  '```js:web/app.js',
  "console.log('hi');",
  '```',
  '',
  '**`tests/test_fib.py`**',
  '',
  '```python',
  'from src.fib import fib',
  '',
  'def test_fib():',
  '    assert fib(10) == 55',
  '```',
  '',
  '```rust',
  '// file: main.rs',
  'fn main() {}',
  '```',
  '',
  '```bash',
  'pytest -q',
  '```',
  '',
  '````markdown',
  '```',
  'nested fence stays inside',
  '```',
  '````',
  '',
  '```',
  'no language at all',
  '```',
  '',
  '```dockerfile',
  'FROM python:3.12-slim',
  '```',
].join('\n');

describe('extractCodeBlocks', () => {
  it('finds every block, its language and the file name the answer gave', () => {
    const blocks = extractCodeBlocks(answer);
    expect(blocks.map((b) => [b.lang, b.path])).toEqual([
      ['python', 'src/fib.py'],
      ['ts', 'lib/add.ts'],
      ['js', 'web/app.js'],
      ['python', 'tests/test_fib.py'],
      ['rust', 'main.rs'],
      ['bash', undefined],
      ['markdown', undefined],
      [undefined, undefined],
      ['dockerfile', undefined],
    ]);
    expect(blocks[0]?.code).toBe('def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)');
    expect(blocks[6]?.code).toBe('```\nnested fence stays inside\n```');
    expect(blocks.every((b) => b.closed)).toBe(true);
    expect(blocks.map((b, i) => fileNameFor(b, i))).toEqual([
      'src/fib.py',
      'lib/add.ts',
      'web/app.js',
      'tests/test_fib.py',
      'main.rs',
      'snippet-6.sh',
      'snippet-7.md',
      'snippet-8.txt',
      'Dockerfile',
    ]);
  });

  it('keeps a block the answer was cut off in', () => {
    const blocks = extractCodeBlocks('```go\npackage main\nfunc main() {');
    expect(blocks).toHaveLength(1);
    expect(blocks[0]?.closed).toBe(false);
    expect(blocks[0]?.code).toBe('package main\nfunc main() {');
  });

  it('keeps file names inside the artifacts folder', () => {
    expect(safeRelativePath('../../etc/passwd')).toBe('etc/passwd');
    expect(safeRelativePath('/abs/path/x.py')).toBe('abs/path/x.py');
    expect(safeRelativePath('..')).toBeUndefined();
    expect(safeRelativePath('we ird$name.ts')).toBe('we_ird_name.ts');
    const used = new Set<string>();
    expect(['a.ts', 'a.ts', 'A.ts', 'dir/b', 'dir/b'].map((n) => uniqueName(n, used))).toEqual([
      'a.ts',
      'a-2.ts',
      'A-3.ts',
      'dir/b',
      'dir/b-2',
    ]);
  });

  it('saves every block as a file', async () => {
    const dir = await testDir('save code blocks');
    const names = await saveCodeBlocks(extractCodeBlocks(answer), dir, new Set());
    expect(names).toHaveLength(9);
    expect(await readFile(join(dir, 'src/fib.py'), 'utf8')).toContain('def fib(n):\n');
    expect(await readFile(join(dir, 'Dockerfile'), 'utf8')).toBe('FROM python:3.12-slim\n');
  });
});

describe('extractFindings', () => {
  it('reads the list under the Findings heading, continuation lines included, not code', () => {
    const review = [
      'Overall fine.',
      '',
      '## Findings',
      '- [major] src/db.ts:42: the query is built by string concatenation;',
      '  use a parameterised query.',
      '- [minor] src/db.ts:10: unused import',
      '```ts',
      '- not a finding, this is code',
      '```',
      '1. [nit] README: typo',
      '',
      '## Verdict',
      '- request changes',
    ].join('\n');
    expect(extractFindings(review)).toEqual([
      '[major] src/db.ts:42: the query is built by string concatenation; use a parameterised query.',
      '[minor] src/db.ts:10: unused import',
      '[nit] README: typo',
    ]);
  });

  it('falls back to every list item when there is no Findings heading', () => {
    expect(extractFindings('Problems seen:\n* leaks a file handle\n* no tests')).toEqual([
      'leaks a file handle',
      'no tests',
    ]);
  });
});
