import {
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readlink,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DirectoryContext } from './build-context.js';
import { filteredContextView } from './context-view.js';

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function fixture(ignore: string | undefined): Promise<string> {
  dir = await mkdtemp(path.join(tmpdir(), 'context-view-'));
  const context = path.join(dir, 'context');
  await mkdir(path.join(context, 'build', 'cache'), { recursive: true, mode: 0o750 });
  await writeFile(path.join(context, 'main.c'), 'int main;\n', { mode: 0o640 });
  await writeFile(path.join(context, 'build', 'cache', 'a.o'), 'object\n');
  await writeFile(path.join(context, 'build', 'version.txt'), '1\n');
  await symlink('main.c', path.join(context, 'link.c'));
  if (ignore !== undefined) await writeFile(path.join(context, '.dockerignore'), ignore);
  return context;
}

describe('filteredContextView', () => {
  it('returns the root without rules', async () => {
    const context = await DirectoryContext.open(await fixture(undefined));
    expect(await filteredContextView(context, path.join(dir ?? '', 'view'))).toBe(context.root);
  });

  it('keeps only included files', async () => {
    const context = await DirectoryContext.open(await fixture('build\n!build/version.txt\n'));
    const view = await filteredContextView(context, path.join(dir ?? '', 'view'));
    expect(view).not.toBe(context.root);
    expect(await readFile(path.join(view, 'main.c'), 'utf8')).toBe('int main;\n');
    expect((await lstat(path.join(view, 'main.c'))).mode & 0o777).toBe(0o640);
    expect(await readlink(path.join(view, 'link.c'))).toBe('main.c');
    expect(await readFile(path.join(view, 'build', 'version.txt'), 'utf8')).toBe('1\n');
    expect((await lstat(path.join(view, 'build'))).mode & 0o777).toBe(0o750);
    await expect(lstat(path.join(view, 'build', 'cache'))).rejects.toThrow(/ENOENT/);
  });
});
