import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';

import { skopeoInspect } from './checks.js';
import { makeTempDir } from './process.js';
import { makeRandomImage } from './random-image.js';

describe('makeRandomImage', () => {
  it('writes a layout skopeo can read', async () => {
    const dir = await makeTempDir('random');
    const image = await makeRandomImage(dir, { layerSizes: [3000, 1024 * 1024 + 5], tag: 'v1' });
    expect(image.layers.map((layer) => layer.descriptor.size)).toEqual([3000, 1024 * 1024 + 5]);

    const content = await readFile(image.layers[1]!.path);
    expect(`sha256:${createHash('sha256').update(content).digest('hex')}`).toBe(
      image.layers[1]!.descriptor.digest,
    );

    const inspected = (await skopeoInspect(`oci:${dir}:v1`, { raw: true })) as {
      layers: Array<{ digest: string }>;
    };
    expect(inspected.layers.map((layer) => layer.digest)).toEqual(
      image.layers.map((layer) => layer.descriptor.digest),
    );
  });
});
