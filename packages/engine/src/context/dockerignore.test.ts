import { describe, expect, it } from 'vitest';
import { DockerIgnore } from './dockerignore.js';

describe('DockerIgnore', () => {
  const rules = DockerIgnore.parse(
    [
      '# comment',
      '',
      'node_modules',
      '/build/',
      '*.log',
      '**/*.tmp',
      'docs/**',
      '!docs/keep.md',
      'secret?.txt',
      './cache',
    ].join('\n'),
  );

  it.each([
    ['node_modules', true],
    ['node_modules/pkg/index.js', true],
    ['src/node_modules', false],
    ['build/out.js', true],
    ['app.log', true],
    ['logs/app.log', false],
    ['a.tmp', true],
    ['deep/er/b.tmp', true],
    ['docs/guide.md', true],
    ['docs/keep.md', false],
    ['secret1.txt', true],
    ['secret10.txt', false],
    ['cache/x', true],
    ['src/main.ts', false],
  ])('%s excluded: %s', (file, expected) => {
    expect(rules.excludes(file)).toBe(expected);
  });

  it('lets the last matching line decide', () => {
    const ordered = DockerIgnore.parse('!important.txt\n*.txt\n');
    expect(ordered.excludes('important.txt')).toBe(true);
    expect(DockerIgnore.parse('*.txt\n!important.txt\n').excludes('important.txt')).toBe(false);
  });

  it('tells which excluded directories an exception reaches into', () => {
    expect(rules.mayIncludeBelow('docs')).toBe(true);
    expect(rules.mayIncludeBelow('node_modules')).toBe(false);
    expect(DockerIgnore.parse('vendor\n!vendor/*/LICENSE').mayIncludeBelow('vendor/lib')).toBe(
      true,
    );
    expect(DockerIgnore.parse('vendor\n!vendor/*/LICENSE').mayIncludeBelow('vendor/lib/deep')).toBe(
      false,
    );
    expect(DockerIgnore.parse('x\n!**/keep').mayIncludeBelow('x/y')).toBe(true);
    expect(DockerIgnore.empty().excludes('anything')).toBe(false);
  });
});

describe('DockerIgnore.excludingRule', () => {
  it('names the deciding line', () => {
    const ignore = DockerIgnore.parse('# logs\n*.log\nbuild\n!build/keep.txt\n', '.dockerignore');

    expect(ignore.excludingRule('debug.log')).toEqual({ pattern: '*.log', line: 2 });
    expect(ignore.excludingRule('build/out.o')).toEqual({ pattern: 'build', line: 3 });
    expect(ignore.excludingRule('build/keep.txt')).toBeUndefined();
    expect(ignore.excludingRule('main.c')).toBeUndefined();
    expect(ignore.file).toBe('.dockerignore');
  });
});
