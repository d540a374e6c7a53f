import { mkdir, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pack, type Header } from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { applyLayer } from './apply-layer.js';
import { LayerError } from './errors.js';
import { makeTempDir } from './test-support/tree.js';

let work: string;
let root: string;

beforeEach(async () => {
  work = await makeTempDir('keep');
  root = path.join(work, 'root');
  await mkdir(path.join(root, 'etc'), { recursive: true });
  await mkdir(path.join(root, 'kiln', 'blobs'), { recursive: true });
  await writeFile(path.join(root, 'etc', 'hosts'), 'kept hosts');
  await writeFile(path.join(root, 'etc', 'passwd'), 'old passwd');
  await writeFile(path.join(root, 'kiln', 'blobs', 'blob'), 'kept blob');
});

afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

type Entry = Partial<Header> & Pick<Header, 'name'> & { content?: string };

async function applyTar(entries: Entry[], keep: string[]): Promise<void> {
  const packer = pack();
  for (const { content, ...header } of entries) packer.entry(header, content ?? '');
  packer.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of packer) chunks.push(chunk as Buffer);
  const blob = path.join(work, 'layer.tar');
  await writeFile(blob, Buffer.concat(chunks));
  await applyLayer(blob, root, { keep });
}

const KEEP = ['/etc/hosts', 'kiln/'];

describe('applyLayer with kept paths', () => {
  it('skips entries at and under kept paths', async () => {
    await applyTar(
      [
        { name: 'etc/hosts', type: 'file', mode: 0o644, content: 'layer hosts' },
        { name: 'kiln/blobs/blob', type: 'file', mode: 0o644, content: 'layer blob' },
        { name: 'etc/passwd', type: 'file', mode: 0o644, content: 'new passwd' },
      ],
      KEEP,
    );
    expect(await readFile(path.join(root, 'etc', 'hosts'), 'utf8')).toBe('kept hosts');
    expect(await readFile(path.join(root, 'kiln', 'blobs', 'blob'), 'utf8')).toBe('kept blob');
    expect(await readFile(path.join(root, 'etc', 'passwd'), 'utf8')).toBe('new passwd');
  });

  it('whiteout of a parent keeps the kept path', async () => {
    await applyTar([{ name: '.wh.etc', type: 'file', mode: 0o644 }], KEEP);
    expect(await readdir(path.join(root, 'etc'))).toEqual(['hosts']);
    await applyTar([{ name: '.wh.kiln', type: 'file', mode: 0o644 }], KEEP);
    expect(await readFile(path.join(root, 'kiln', 'blobs', 'blob'), 'utf8')).toBe('kept blob');
  });

  it('opaque whiteout keeps the kept path', async () => {
    await applyTar([{ name: 'etc/.wh..wh..opq', type: 'file', mode: 0o644 }], KEEP);
    expect(await readdir(path.join(root, 'etc'))).toEqual(['hosts']);
  });

  it('checks kept paths behind a symlinked parent', async () => {
    await symlink('etc', path.join(root, 'config'));
    await applyTar(
      [{ name: 'config/hosts', type: 'file', mode: 0o644, content: 'via link' }],
      KEEP,
    );
    expect(await readFile(path.join(root, 'etc', 'hosts'), 'utf8')).toBe('kept hosts');
  });

  it('rejects a file over a kept parent', async () => {
    const failure = await applyTar([{ name: 'etc', type: 'symlink', linkname: '/tmp' }], KEEP).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(LayerError);
    expect((failure as LayerError).code).toBe('INVALID_PATH');
    expect(await readFile(path.join(root, 'etc', 'hosts'), 'utf8')).toBe('kept hosts');
  });
});
