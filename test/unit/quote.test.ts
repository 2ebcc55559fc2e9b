import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { quoteArg, quoteArgv, remoteCommandLine, UnquotableArgumentError } from '../../src/hosts/quote.js';

/** What a real POSIX shell makes of a command line: each word on its own line, NUL-separated. */
function shellWords(line: string): string[] {
  const out = execFileSync('sh', ['-c', `${line}`], { encoding: 'utf8' });
  return out.split('\0').slice(0, -1);
}

const HOSTILE = [
  '$(touch /tmp/ygg-quote-pwned)',
  '`touch /tmp/ygg-quote-pwned`',
  'a; touch /tmp/ygg-quote-pwned',
  "it's",
  '\'"\'"',
  'line\nbreak',
  '',
  '  two  spaces  ',
  '*',
  '~root',
  'A=b',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal shell expansion is the point.
  '$HOME ${PATH}',
  '\\',
  '-n',
  '!',
  '#comment',
  'tab\there',
  'ünïcødé ✓',
];

describe('quoting for a POSIX remote shell', () => {
  it('round-trips every hostile word through sh and dash unchanged', () => {
    const line = `printf '%s\\0' ${HOSTILE.map((w) => quoteArg(w)).join(' ')}`;
    expect(shellWords(line)).toEqual(HOSTILE);
    const dash = execFileSync('dash', ['-c', line], { encoding: 'utf8' }).split('\0').slice(0, -1);
    expect(dash).toEqual(HOSTILE);
    expect(existsSync('/tmp/ygg-quote-pwned')).toBe(false);
  });

  it('leaves plain words alone and quotes the rest', () => {
    expect(quoteArgv(['ls', '-la', '/tmp/x.y', 'a,b:c@d%e+f'])).toBe('ls -la /tmp/x.y a,b:c@d%e+f');
    expect(quoteArg('')).toBe("''");
    expect(quoteArg("it's")).toBe(`'it'\\''s'`);
    expect(quoteArg('A=b')).toBe("'A=b'");
  });

  it('refuses NUL with a message that says why', () => {
    expect(() => quoteArgv(['echo', 'a\0b'])).toThrow(UnquotableArgumentError);
    expect(() => quoteArgv(['echo', 'a\0b'])).toThrow(/argument 1 contains a NUL byte/);
    expect(() => remoteCommandLine(['env'], { env: { X: '\0' } })).toThrow(/environment variable X/);
    expect(() => quoteArgv([])).toThrow(/empty argv/);
  });

  it('builds cd, export and exec, checking variable names', () => {
    expect(remoteCommandLine(['id'], { cwd: '/tmp/a b', env: { A: "x'y" } })).toBe(
      `cd -- '/tmp/a b' || exit 126; export A='x'\\''y'; exec id`,
    );
    expect(() => remoteCommandLine(['id'], { env: { 'A;rm': '1' } })).toThrow(/not a valid shell name/);
    const out = execFileSync(
      'sh',
      ['-c', remoteCommandLine(['sh', '-c', 'printf %s "$V"'], { env: { V: '$(id)`id`;' } })],
      {
        encoding: 'utf8',
      },
    );
    expect(out).toBe('$(id)`id`;');
  });
});
