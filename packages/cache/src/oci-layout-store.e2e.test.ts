import { Readable } from 'node:stream';
import { MediaType, sha256Digest } from '@kiln/oci-spec';
import { makeTempDir, removeTempDir, skopeoInspect } from '@kiln/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { entryName } from './cache-image.js';
import { OciLayoutStore } from './oci-layout-store.js';

describe('OciLayoutStore with skopeo', () => {
  let root: string;
  beforeEach(async () => {
    root = await makeTempDir('cache-oci');
  });
  afterEach(async () => {
    await removeTempDir(root);
  });

  it('stores entries skopeo reads by their ref name', async () => {
    const store = new OciLayoutStore(root);
    const record = await store.put(
      'key',
      { stream: Readable.from([Buffer.from('layer')]) },
      { mediaType: MediaType.OciLayer, diffId: sha256Digest('layer') },
    );
    const manifest = (await skopeoInspect(`oci:${root}:${entryName('key')}`, { raw: true })) as {
      layers: Array<{ digest: string }>;
    };
    expect(manifest.layers.map((layer) => layer.digest)).toEqual([record.descriptor.digest]);
  });
});
