import { describe, expect, it } from 'vitest';
import { applyModeSpec, parseChmod } from './file-mode.js';

const apply = (text: string, mode: number, isDirectory = false): string =>
  applyModeSpec(parseChmod(text), mode, isDirectory).toString(8);

describe('parseChmod', () => {
  it('reads octal modes', () => {
    expect(parseChmod('0640')).toBe(0o640);
    expect(parseChmod('4755')).toBe(0o4755);
  });

  it('applies symbolic clauses to the current mode', () => {
    expect(apply('u+x', 0o644)).toBe('744');
    expect(apply('go-w', 0o666)).toBe('644');
    expect(apply('a=r,u+w', 0o777)).toBe('644');
    expect(apply('+x', 0o600)).toBe('711');
    expect(apply('g=u', 0o640)).toBe('660');
    expect(apply('u+s', 0o755)).toBe('4755');
    expect(apply('o=', 0o777)).toBe('770');
  });

  it('gives X only to directories and already executable files', () => {
    expect(apply('a+X', 0o644)).toBe('644');
    expect(apply('a+X', 0o744)).toBe('755');
    expect(apply('a+X', 0o700, true)).toBe('711');
  });

  it('rejects other text', () => {
    expect(() => parseChmod('u+q')).toThrow('--chmod=u+q is neither');
    expect(() => parseChmod('99999')).toThrow('neither an octal nor a symbolic mode');
    expect(() => parseChmod('')).toThrow();
  });
});
