import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ShellExpansionError } from './errors.js';
import { expandWord, expandWords, processWord } from './lexer.js';
import { conformanceDir } from '../test-support/conformance-dir.js';

// BuildKit's shell lexer tables, read in place from the shared folder next to the repository.
const SHELL_DATA = join(conformanceDir(), 'buildkit-shell');

function readTable(name: string): string[] {
  const path = join(SHELL_DATA, name);
  if (!existsSync(path)) throw new Error(`conformance data not found at ${path}`);
  return readFileSync(path, 'utf8').split('\n');
}

describe('envVarTest table', () => {
  const env = { PWD: '/home', SHELL: 'bash', KOREAN: '한국어', NULL: '' };
  const cases: Array<{ input: string; expected: string; line: number }> = [];
  readTable('envVarTest').forEach((line, index) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const [platform, input, expected] = trimmed.split('|').map((field) => field.trim());
    if (platform !== 'A' && platform !== 'U') return;
    cases.push({ input: input as string, expected: expected as string, line: index + 1 });
  });

  it('has cases', () => {
    expect(cases.length).toBeGreaterThan(100);
  });

  for (const { input, expected, line } of cases) {
    it(`line ${line}: ${input}`, () => {
      if (expected === 'error') {
        expect(() => expandWord(input, env)).toThrow(ShellExpansionError);
      } else {
        expect(expandWord(input, env)).toBe(expected);
      }
    });
  }
});

describe('wordsTest table', () => {
  const cases: Array<{
    input: string;
    expected: string;
    env: Record<string, string>;
    line: number;
  }> = [];
  let env: Record<string, string> = {};
  readTable('wordsTest').forEach((line, index) => {
    if (line.trim() === '' || line.startsWith('#')) return;
    if (line.startsWith('ENV ')) {
      const assignment = line.slice(4);
      const equals = assignment.indexOf('=');
      env = { ...env, [assignment.slice(0, equals)]: assignment.slice(equals + 1) };
      return;
    }
    const separator = line.indexOf('|');
    cases.push({
      input: line.slice(0, separator).trim(),
      expected: line.slice(separator + 1).replace(/^ +/, ''),
      env,
      line: index + 1,
    });
  });

  it('has cases', () => {
    expect(cases.length).toBeGreaterThan(20);
  });

  for (const { input, expected, env: caseEnv, line } of cases) {
    it(`line ${line}: ${input}`, () => {
      if (expected === 'error') {
        expect(() => expandWords(input, caseEnv)).toThrow(ShellExpansionError);
      } else {
        expect(expandWords(input, caseEnv).join(',')).toBe(expected);
      }
    });
  }
});

describe('processWord', () => {
  it('reports matched and unmatched names', () => {
    const result = processWord('$A ${B:-x} $C', { A: '1', C: '' });
    expect([...result.matched].sort()).toEqual(['A', 'C']);
    expect([...result.unmatched]).toEqual(['B']);
  });

  it('keeps unset references with skipUnsetEnv', () => {
    expect(expandWord('$A-${B}-${C:-x}', {}, { skipUnsetEnv: true })).toBe('$A-${B}-${C:-x}');
  });

  it('uses the backtick escape token', () => {
    expect(expandWord('a`$b\\c', { b: 'x' }, { escapeToken: '`' })).toBe('a$b\\c');
  });

  it('replaces first and all matches', () => {
    const env = { V: 'a.b.c' };
    expect(expandWord('${V/./-}', env)).toBe('a-b.c');
    expect(expandWord('${V//./-}', env)).toBe('a-b-c');
    expect(expandWord('${V//*/x}', env)).toBe('x');
  });

  it('trims shortest and longest patterns', () => {
    const env = { P: 'linux/arm64/v8' };
    expect(expandWord('${P#*/}', env)).toBe('arm64/v8');
    expect(expandWord('${P##*/}', env)).toBe('v8');
    expect(expandWord('${P%/*}', env)).toBe('linux/arm64');
    expect(expandWord('${P%%/*}', env)).toBe('linux');
  });

  it('reads a Map environment', () => {
    expect(expandWord('$X', new Map([['X', 'y']]))).toBe('y');
  });

  it('does not read inherited object keys', () => {
    expect(expandWord('${constructor:-none}', {})).toBe('none');
  });
});
