import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { MediaType, parseImageIndex } from '@kiln/oci-spec';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { damageBlobFile, describeCacheStoreConformance, type BlobDamage } from './conformance.js';
import { OciLayoutStore } from './oci-layout-store.js';

async function layoutHarness() {
  const root = await mkdtemp(join(tmpdir(), 'kiln-cache-oci-'));
  const store = new OciLayoutStore(root);
  return {
    store,
    damageBlob: (digest: string, kind: BlobDamage) => damageBlobFile(store.blobPath(digest), kind),
    openSecondStore: async () => new OciLayoutStore(root),
    openStoreWithTtl: async (ttlMs: number) => new OciLayoutStore(root, { ttlMs }),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

describeCacheStoreConformance('OciLayoutStore', layoutHarness);

describe('OciLayoutStore', () => {
  let root: string;
  const layer = { mediaType: MediaType.OciLayerGzip };

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'kiln-cache-oci-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('writes a valid OCI layout', async () => {
    const store = new OciLayoutStore(root);
    await store.put('key', { stream: Readable.from([Buffer.from('layer')]) }, layer);
    expect(JSON.parse(await readFile(join(root, 'oci-layout'), 'utf8'))).toEqual({
      imageLayoutVersion: '1.0.0',
    });
    const index = parseImageIndex(await readFile(join(root, 'index.json')));
    expect(index.manifests).toHaveLength(1);
    expect(index.manifests[0]!.annotations?.['dev.kiln.cache.key']).toBe('key');
    expect(await readdir(join(root, 'blobs', 'sha256'))).toHaveLength(3);
  });

  it('keeps every entry of concurrent writers', async () => {
    const stores = Array.from({ length: 4 }, () => new OciLayoutStore(root));
    await Promise.all(
      Array.from({ length: 24 }, (_, index) =>
        stores[index % 4]!.put(
          `key-${index}`,
          { stream: Readable.from([Buffer.from(`layer ${index}`)]) },
          layer,
        ),
      ),
    );
    const index = parseImageIndex(await readFile(join(root, 'index.json')));
    expect(index.manifests).toHaveLength(24);
    for (let entry = 0; entry < 24; entry++)
      expect((await stores[0]!.get(`key-${entry}`)).status).toBe('hit');
    expect(await readdir(root)).not.toContain('index.json.lock');
  });
});
