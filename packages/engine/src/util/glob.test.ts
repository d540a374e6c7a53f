import { describe, expect, it } from 'vitest';
import { componentPatternToRegExp, hasWildcard } from './glob.js';

describe('componentPatternToRegExp', () => {
  it.each([
    ['*.txt', 'a.txt', true],
    ['*.txt', 'a.txt.bak', false],
    ['file?.md', 'file1.md', true],
    ['file?.md', 'file10.md', false],
    ['[ab].c', 'a.c', true],
    ['[^ab].c', 'a.c', false],
    ['[!ab].c', 'z.c', true],
    ['a\\*b', 'a*b', true],
    ['a\\*b', 'axb', false],
    ['a.b', 'axb', false],
  ])('%s matches %s: %s', (pattern, name, expected) => {
    expect(componentPatternToRegExp(pattern).test(name)).toBe(expected);
  });

  it('detects wildcards', () => {
    expect(hasWildcard('*.txt')).toBe(true);
    expect(hasWildcard('plain.txt')).toBe(false);
  });
});
