#!/usr/bin/env node
/**
 * Fails when a source file is over the line limit (`npm run lint:size`): small files with one
 * concept each. Usage: node scripts/check-file-size.mjs [FOLDER=src] [MAX_LINES=400]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const folder = process.argv[2] ?? 'src';
const maxLines = Number(process.argv[3] ?? 400);
if (!Number.isInteger(maxLines) || maxLines < 1) {
  process.stderr.write(`check-file-size: ${process.argv[3]} is not a line count\n`);
  process.exit(2);
}

const sources = readdirSync(folder, { recursive: true, withFileTypes: true })
  .filter((entry) => entry.isFile() && /\.(ts|js|mjs|cjs)$/.test(entry.name))
  .map((entry) => join(entry.parentPath ?? entry.path, entry.name));

const tooLong = sources
  .map((file) => {
    const text = readFileSync(file, 'utf8');
    return { file, lines: text.split('\n').length - (text.endsWith('\n') ? 1 : 0) };
  })
  .filter(({ lines }) => lines > maxLines)
  .sort((a, b) => b.lines - a.lines);

if (tooLong.length === 0) {
  process.stdout.write(`${sources.length} files in ${folder}/, none over ${maxLines} lines\n`);
} else {
  for (const { file, lines } of tooLong) process.stderr.write(`${file}: ${lines} lines (over ${maxLines})\n`);
  process.stderr.write(`${tooLong.length} file(s) over ${maxLines} lines: split them by concept\n`);
  process.exit(1);
}
