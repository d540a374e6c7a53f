import { describe, expect, it } from 'vitest';
import { resolveCopyTargets } from './destination.js';

const file = (name: string) => ({ name, isDirectory: false });
const dir = (name: string) => ({ name, isDirectory: true });

describe('resolveCopyTargets', () => {
  it('copies a file into a destination ending with a slash', () => {
    expect(resolveCopyTargets('/srv/', '/', [file('a.txt')], false)).toEqual([
      { path: '/srv/a.txt', contentsOnly: false },
    ]);
  });

  it('copies a file to a destination without a slash as that name', () => {
    expect(resolveCopyTargets('/srv/b.txt', '/', [file('a.txt')], false)).toEqual([
      { path: '/srv/b.txt', contentsOnly: false },
    ]);
  });

  it('copies a file into an existing directory without a slash', () => {
    expect(resolveCopyTargets('/srv', '/', [file('a.txt')], true)).toEqual([
      { path: '/srv/a.txt', contentsOnly: false },
    ]);
  });

  it('resolves a relative destination against the working directory', () => {
    expect(resolveCopyTargets('conf/', '/app', [file('a.txt')], false)[0]?.path).toBe(
      '/app/conf/a.txt',
    );
    expect(resolveCopyTargets('.', '/app', [file('a.txt')], false)[0]?.path).toBe('/app/a.txt');
  });

  it('copies a directory source as its contents', () => {
    expect(resolveCopyTargets('/opt/site', '/', [dir('public')], false)).toEqual([
      { path: '/opt/site', contentsOnly: true },
    ]);
  });

  it('requires a slash for several sources', () => {
    expect(() => resolveCopyTargets('/srv', '/', [file('a'), file('b')], false)).toThrow(
      /more than one source.*"\/srv"/,
    );
    expect(
      resolveCopyTargets('/srv/', '/', [file('a'), file('b')], false).map((t) => t.path),
    ).toEqual(['/srv/a', '/srv/b']);
  });
});
