import { describe, expect, it } from 'vitest';
import { ShellExpansionError } from './errors.js';
import { trimPatternPrefix, trimPatternSuffix } from './pattern.js';

describe('shell patterns', () => {
  it('trims prefixes shortest and longest', () => {
    expect(trimPatternPrefix('a*', 'abcabc', false)).toBe('bcabc');
    expect(trimPatternPrefix('a*c', 'abcabc', true)).toBe('');
  });

  it('trims suffixes shortest and longest', () => {
    expect(trimPatternSuffix('c*', 'abcabc', false)).toBe('abcab');
    expect(trimPatternSuffix('b*', 'abcabc', true)).toBe('a');
  });

  it('treats regex characters literally', () => {
    expect(trimPatternPrefix('a.', 'abc', false)).toBe('abc');
    expect(trimPatternPrefix('(x)', '(x)y', false)).toBe('y');
  });

  it('keeps escaped wildcards literal', () => {
    expect(trimPatternPrefix('\\*', '*x', false)).toBe('x');
    expect(trimPatternSuffix('\\*', 'x*', false)).toBe('x');
  });

  it('rejects an invalid escape', () => {
    expect(() => trimPatternPrefix('\\a', 'x', false)).toThrow(ShellExpansionError);
  });
});
