import {
  link,
  lstat,
  mkdir,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';
import { pack, type Header } from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { applyLayer } from './apply-layer.js';
import { LayerError } from './errors.js';
import { describeTree, makeTempDir } from './test-support/tree.js';

// Each case builds a tar with tar-stream, applies it, and checks that nothing outside the root
// changed. Containment cases also check where the entry landed inside the root.

let work: string;
let root: string;
let outside: string;
let outsideBefore: Awaited<ReturnType<typeof describeTree>>;

/** Enough `..` parts to climb from any temporary directory to `/`. */
const CLIMB = '../'.repeat(20);

beforeEach(async () => {
  work = await makeTempDir('hostile');
  root = path.join(work, 'root');
  outside = path.join(work, 'outside');
  await mkdir(root);
  await mkdir(outside);
  await writeFile(path.join(outside, 'secret'), 'secret');
  outsideBefore = await describeTree(outside);
});

afterEach(async () => {
  expect(await describeTree(outside)).toEqual(outsideBefore);
  await rm(work, { recursive: true, force: true });
});

type Entry = Partial<Header> & Pick<Header, 'name'> & { content?: string };

async function applyTar(entries: Entry[], options: { allowDevices?: boolean } = {}): Promise<void> {
  const packer = pack();
  for (const { content, ...header } of entries) packer.entry(header, content ?? '');
  packer.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of packer) chunks.push(chunk as Buffer);
  const blob = path.join(work, 'hostile.tar');
  await writeFile(blob, Buffer.concat(chunks));
  await applyLayer(blob, root, options);
}

async function expectLayerError(entries: Entry[], code: string, entryName: string): Promise<void> {
  const failure = await applyTar(entries).then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(failure).toBeInstanceOf(LayerError);
  expect((failure as LayerError).code).toBe(code);
  expect((failure as LayerError).message).toContain(entryName);
}

function file(name: string, content = 'pwned'): Entry {
  return { name, type: 'file', mode: 0o644, content };
}

describe('applyLayer with hostile tars', () => {
  it('rejects a name climbing with ..', async () => {
    await expectLayerError([file('../escape')], 'PATH_ESCAPE', '../escape');
  });

  it('rejects .. hidden after a directory', async () => {
    await expectLayerError([file('a/../../escape')], 'PATH_ESCAPE', 'a/../../escape');
  });

  it('contains an absolute name in the root', async () => {
    await applyTar([file(path.join(outside, 'pwned'))]);
    expect(await readFile(path.join(root, outside, 'pwned'), 'utf8')).toBe('pwned');
  });

  it('contains an absolute symlink in a parent', async () => {
    await applyTar([{ name: 'evil', type: 'symlink', linkname: outside }, file('evil/pwned')]);
    expect(await readFile(path.join(root, outside, 'pwned'), 'utf8')).toBe('pwned');
  });

  it('contains a relative symlink in a parent', async () => {
    await applyTar([
      { name: 'dir/evil', type: 'symlink', linkname: `${CLIMB}${outside.slice(1)}` },
      file('dir/evil/pwned'),
    ]);
    expect(await readFile(path.join(root, outside, 'pwned'), 'utf8')).toBe('pwned');
  });

  it('contains a symlink from a lower layer', async () => {
    await symlink(outside, path.join(root, 'lib'));
    await applyTar([file('lib/pwned')]);
    expect(await readFile(path.join(root, outside, 'pwned'), 'utf8')).toBe('pwned');
  });

  it('contains a chain of symlinks', async () => {
    await applyTar([
      { name: 'a', type: 'symlink', linkname: 'b' },
      { name: 'b', type: 'symlink', linkname: `c/${CLIMB}` },
      { name: 'c', type: 'directory', mode: 0o755 },
      file(`a/${outside.slice(1)}/pwned`),
    ]);
    expect(await readFile(path.join(root, outside, 'pwned'), 'utf8')).toBe('pwned');
  });

  it('rejects a symlink loop', async () => {
    await expectLayerError(
      [{ name: 'loop', type: 'symlink', linkname: 'loop' }, file('loop/x')],
      'SYMLINK_LOOP',
      'loop/x',
    );
  });

  it('replaces a symlink leaf instead of writing through it', async () => {
    await applyTar([
      { name: 'target', type: 'symlink', linkname: path.join(outside, 'secret') },
      file('target'),
    ]);
    expect(await readFile(path.join(root, 'target'), 'utf8')).toBe('pwned');
  });

  it('replaces a symlink with a directory instead of chmodding its target', async () => {
    await applyTar([
      { name: 'evil', type: 'symlink', linkname: outside },
      { name: 'evil', type: 'directory', mode: 0o777 },
    ]);
    expect((await stat(path.join(root, 'evil'))).isDirectory()).toBe(true);
  });

  it('replaces a file hardlinked outside instead of writing through it', async () => {
    await link(path.join(outside, 'secret'), path.join(root, 'shared'));
    await applyTar([file('shared')]);
    expect(await readFile(path.join(root, 'shared'), 'utf8')).toBe('pwned');
  });

  it('rejects a hardlink climbing with ..', async () => {
    await expectLayerError(
      [{ name: 'grab', type: 'link', linkname: `${CLIMB}${outside.slice(1)}/secret` }],
      'PATH_ESCAPE',
      'grab',
    );
  });

  it('rejects an absolute hardlink to a host file', async () => {
    await expectLayerError(
      [{ name: 'grab', type: 'link', linkname: path.join(outside, 'secret') }],
      'HARDLINK_TARGET',
      'grab',
    );
  });

  it('rejects a hardlink through a symlink parent', async () => {
    await expectLayerError(
      [
        { name: 'evil', type: 'symlink', linkname: outside },
        { name: 'grab', type: 'link', linkname: 'evil/secret' },
      ],
      'HARDLINK_TARGET',
      'grab',
    );
  });

  it('rejects a device when devices are not allowed', async () => {
    await expectLayerError(
      [{ name: 'mem', type: 'character-device', mode: 0o666, devmajor: 1, devminor: 1 }],
      'DEVICE_NOT_PERMITTED',
      'mem',
    );
  });

  it('keeps the existing file when rejecting a device', async () => {
    await writeFile(path.join(root, 'mem'), 'kept');
    await expectLayerError(
      [{ name: 'mem', type: 'character-device', mode: 0o666, devmajor: 1, devminor: 1 }],
      'DEVICE_NOT_PERMITTED',
      'mem',
    );
    expect(await readFile(path.join(root, 'mem'), 'utf8')).toBe('kept');
  });

  it('rejects a whiteout climbing with ..', async () => {
    await expectLayerError([file('../.wh.outside', '')], 'PATH_ESCAPE', '../.wh.outside');
  });

  it('contains a whiteout through a symlink parent', async () => {
    await mkdir(path.join(root, outside), { recursive: true });
    await writeFile(path.join(root, outside, 'secret'), 'copy inside the root');
    await applyTar([
      { name: 'evil', type: 'symlink', linkname: outside },
      file('evil/.wh.secret', ''),
    ]);
    await expect(lstat(path.join(root, outside, 'secret'))).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });

  it('contains an opaque whiteout through a symlink parent', async () => {
    await mkdir(path.join(root, outside), { recursive: true });
    await writeFile(path.join(root, outside, 'secret'), 'copy inside the root');
    await applyTar([
      { name: 'evil', type: 'symlink', linkname: outside },
      file('evil/.wh..wh..opq', ''),
    ]);
    expect(await readdir(path.join(root, outside))).toEqual([]);
  });
});
