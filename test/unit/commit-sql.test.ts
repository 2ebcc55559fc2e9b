import { describe, expect, it } from 'vitest';
import { dollarQuoted, openCommitSql } from '../../src/store/postgres/commit-sql.js';

describe('the PostgreSQL commit’s statement text', () => {
  it('dollar-quotes text with a tag the text does not contain', () => {
    expect(dollarQuoted(`it's "x" \\ $$`)).toBe(`$ygg0$it's "x" \\ $$$ygg0$`);
    expect(dollarQuoted('a $ygg0$ b')).toBe('$ygg1$a $ygg0$ b$ygg1$');
    expect(dollarQuoted('$ygg0$$ygg1$')).toBe('$ygg2$$ygg0$$ygg1$$ygg2$');
    // Text that ends as a tag begins would close early against the closing tag's last `$`.
    expect(dollarQuoted('a $ygg0')).toBe('$ygg1$a $ygg0$ygg1$');
  });

  it('writes only whole numbers ygg made into the opening statements', () => {
    expect(openCommitSql(42)).toContain('WHERE revision > 42 ');
    expect(() => openCommitSql(Number.NaN)).toThrow(/whole number/);
    expect(() => openCommitSql(-1)).toThrow(/whole number/);
  });
});
