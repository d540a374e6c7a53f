import { readFile } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseImageIndex, sha256Digest } from '@kiln/oci-spec';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { REF_NAME_ANNOTATION, writeOciLayout } from './oci-layout.js';
import { makeTestImage } from './test-image.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-oci-layout-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function readIndex(layout: string) {
  return parseImageIndex(await readFile(path.join(layout, 'index.json'), 'utf8'));
}

async function blobDigest(layout: string, digest: string): Promise<string> {
  return sha256Digest(
    await readFile(path.join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length))),
  );
}

describe('writeOciLayout', () => {
  it('writes oci-layout, index.json and every blob', async () => {
    const { image, store } = await makeTestImage(path.join(dir, 'store'));
    const layout = path.join(dir, 'layout');
    await writeOciLayout(layout, image, store, 'latest');

    expect(JSON.parse(await readFile(path.join(layout, 'oci-layout'), 'utf8'))).toEqual({
      imageLayoutVersion: '1.0.0',
    });
    const index = await readIndex(layout);
    expect(index.manifests).toHaveLength(1);
    expect(index.manifests[0]?.digest).toBe(image.digest);
    expect(index.manifests[0]?.annotations?.[REF_NAME_ANNOTATION]).toBe('latest');
    for (const digest of [
      image.digest,
      image.configDescriptor.digest,
      ...image.manifest.layers.map((l) => l.digest),
    ]) {
      expect(await blobDigest(layout, digest)).toBe(digest);
    }
  });

  it('adds to an existing layout and replaces the same name', async () => {
    const first = await makeTestImage(path.join(dir, 'store1'), 'one');
    const second = await makeTestImage(path.join(dir, 'store2'), 'two');
    const layout = path.join(dir, 'layout');
    await writeOciLayout(layout, first.image, first.store, 'one');
    await writeOciLayout(layout, second.image, second.store, 'two');
    expect((await readIndex(layout)).manifests.map((m) => m.digest)).toEqual([
      first.image.digest,
      second.image.digest,
    ]);

    await writeOciLayout(layout, second.image, second.store, 'one');
    const names = (await readIndex(layout)).manifests.map((m) => [
      m.annotations?.[REF_NAME_ANNOTATION],
      m.digest,
    ]);
    expect(names).toEqual([
      ['two', second.image.digest],
      ['one', second.image.digest],
    ]);
  });

  it('rejects a directory with an invalid index.json', async () => {
    const { image, store } = await makeTestImage(path.join(dir, 'store'));
    const layout = path.join(dir, 'layout');
    await writeOciLayout(layout, image, store, 'latest');
    await import('node:fs/promises').then((fs) =>
      fs.writeFile(path.join(layout, 'index.json'), '{"nope":1}'),
    );
    await expect(writeOciLayout(layout, image, store, 'latest')).rejects.toThrow(
      /not a valid OCI index/,
    );
  });
});
