/**
 * Fenced code blocks in a model's answer, each saved as a file with a name taken from the fence
 * (```python src/app.py, ```ts title="a.ts", ```js:lib/x.js), a `// file: x` first line, or a
 * file name on the line just before the fence; else `snippet-N` with the language's extension.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export interface CodeBlock {
  /** The language from the fence, lower-cased, when given. */
  lang: string | undefined;
  /** A file path the answer gave for the block, as written. */
  path: string | undefined;
  code: string;
  /** False when the answer ended inside the block (cut off). */
  closed: boolean;
}

const fenceOpen = /^ {0,3}(`{3,}|~{3,})\s*([^`]*)$/;
const fileComment =
  /^\s*(?:\/\/|#|--|\/\*|<!--|;)\s*(?:file(?:name)?|path)\s*:\s*([^\s*]+?)\s*(?:\*\/|-->)?\s*$/i;
const keyedPath = /\b(?:file|filename|path|title|name)=("[^"]*"|'[^']*'|\S+)/i;
const looksLikeFile = /^(?:[\w.-]+\/)*[\w-][\w.-]*\.[A-Za-z0-9]+$/;

const extensions: Record<string, string> = {
  python: 'py',
  py: 'py',
  javascript: 'js',
  js: 'js',
  mjs: 'mjs',
  typescript: 'ts',
  ts: 'ts',
  tsx: 'tsx',
  jsx: 'jsx',
  bash: 'sh',
  sh: 'sh',
  shell: 'sh',
  zsh: 'sh',
  console: 'txt',
  text: 'txt',
  txt: 'txt',
  plaintext: 'txt',
  markdown: 'md',
  md: 'md',
  rust: 'rs',
  rs: 'rs',
  golang: 'go',
  go: 'go',
  'c++': 'cpp',
  cpp: 'cpp',
  csharp: 'cs',
  'c#': 'cs',
  kotlin: 'kt',
  ruby: 'rb',
  perl: 'pl',
  yaml: 'yaml',
  yml: 'yaml',
  patch: 'diff',
  diff: 'diff',
  haskell: 'hs',
  powershell: 'ps1',
};

const wholeNames: Record<string, string> = { dockerfile: 'Dockerfile', makefile: 'Makefile' };

/** Every fenced block, in order. A block the answer never closed is kept (`closed: false`). */
export function extractCodeBlocks(markdown: string): CodeBlock[] {
  const lines = markdown.split(/\r?\n/);
  const blocks: CodeBlock[] = [];
  let i = 0;
  while (i < lines.length) {
    const open = fenceOpen.exec(lines[i] ?? '');
    if (!open) {
      i++;
      continue;
    }
    const fence = open[1] ?? '```';
    const info = (open[2] ?? '').trim();
    const before = previousTextLine(lines, i);
    const body: string[] = [];
    let closed = false;
    for (i++; i < lines.length; i++) {
      const line = lines[i] ?? '';
      const trimmed = line.trim();
      if (
        trimmed.length >= fence.length &&
        trimmed === (fence[0] ?? '`').repeat(trimmed.length) &&
        /^ {0,3}\S/.test(line)
      ) {
        closed = true;
        i++;
        break;
      }
      body.push(line);
    }
    const { lang, path } = readInfo(info);
    blocks.push({
      lang,
      path: path ?? fromFirstLine(body) ?? fromLineBefore(before),
      code: body.join('\n'),
      closed,
    });
  }
  return blocks;
}

function previousTextLine(lines: readonly string[], index: number): string {
  for (let j = index - 1; j >= 0 && j >= index - 3; j--) {
    const line = (lines[j] ?? '').trim();
    if (line) return line;
  }
  return '';
}

function readInfo(info: string): { lang: string | undefined; path: string | undefined } {
  if (!info) return { lang: undefined, path: undefined };
  const keyed = keyedPath.exec(info)?.[1]?.replace(/^["']|["']$/g, '');
  const [first = '', ...rest] = info.replace(/[{}]/g, ' ').split(/\s+/).filter(Boolean);
  const colon = first.indexOf(':');
  if (colon > 0 && looksLikeFile.test(first.slice(colon + 1))) {
    return { lang: first.slice(0, colon).toLowerCase(), path: keyed ?? first.slice(colon + 1) };
  }
  if (looksLikeFile.test(first) && !(first.toLowerCase() in extensions)) {
    return { lang: first.split('.').pop()?.toLowerCase(), path: keyed ?? first };
  }
  const plain = rest.find((token) => !token.includes('=') && looksLikeFile.test(token));
  return { lang: first.toLowerCase(), path: keyed ?? plain };
}

function fromFirstLine(body: readonly string[]): string | undefined {
  const path = fileComment.exec(body[0] ?? '')?.[1];
  return path && looksLikeFile.test(path) ? path : undefined;
}

/** `**src/app.py**`, `` `app.py`: ``, `### File: app.py` just above a fence. */
function fromLineBefore(line: string): string | undefined {
  if (!line || line.length > 120) return undefined;
  const marked = line.includes('`') || line.includes('**') || line.startsWith('#') || /\bfile\b/i.test(line);
  if (!marked) return undefined;
  const candidate = line
    .split(/\s+/)
    .pop()
    ?.replace(/^[`*#'"(]+|[`*:'")]+$/g, '');
  return candidate && looksLikeFile.test(candidate) ? candidate : undefined;
}

/** A safe relative path inside the artifacts folder: no `..`, no absolute paths, plain characters. */
export function safeRelativePath(path: string): string | undefined {
  const parts = path
    .split(/[\\/]+/)
    .filter((part) => part !== '' && part !== '.' && part !== '..')
    .map((part) => part.replace(/[^\w.-]/g, '_').replace(/^\.+(?=\.)/, ''))
    .filter((part) => part !== '' && !/^\.+$/.test(part))
    .slice(-5);
  const joined = parts.join('/');
  return joined && joined.length <= 200 ? joined : undefined;
}

/** The file name for a block: its own path when it gave one, else `snippet-N.EXT`. */
export function fileNameFor(block: CodeBlock, index: number): string {
  const own = block.path ? safeRelativePath(block.path) : undefined;
  if (own) return own;
  const lang = block.lang ?? '';
  if (wholeNames[lang]) return wholeNames[lang];
  const ext = extensions[lang] ?? (/^[a-z0-9]{1,8}$/.test(lang) ? lang : 'txt');
  return `snippet-${index + 1}.${ext}`;
}

/** `name` itself, or `name-2`, `name-3`... (before the extension), whichever is not yet used. */
export function uniqueName(name: string, used: Set<string>): string {
  const dot = name.lastIndexOf('.');
  const slash = name.lastIndexOf('/');
  const hasExt = dot > slash + 1;
  const stem = hasExt ? name.slice(0, dot) : name;
  const ext = hasExt ? name.slice(dot) : '';
  let candidate = name;
  for (let n = 2; used.has(candidate.toLowerCase()); n++) candidate = `${stem}-${n}${ext}`;
  used.add(candidate.toLowerCase());
  return candidate;
}

/** Writes each block to `dir`; returns the file names, relative to `dir`, in block order. */
export async function saveCodeBlocks(
  blocks: readonly CodeBlock[],
  dir: string,
  used: Set<string>,
): Promise<string[]> {
  const names: string[] = [];
  for (const [index, block] of blocks.entries()) {
    const name = uniqueName(fileNameFor(block, index), used);
    const file = join(dir, name);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, block.code.endsWith('\n') ? block.code : `${block.code}\n`);
    names.push(name);
  }
  return names;
}
