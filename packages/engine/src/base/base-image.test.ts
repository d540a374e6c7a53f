import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Descriptor } from '@kiln/oci-spec';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BlobStore } from '../image/blob-store.js';
import { applyLayers } from './base-image.js';

let dir: string;
let store: BlobStore;
const BROKEN: Descriptor = {
  mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
  digest: `sha256:${'0'.repeat(64)}`,
  size: 10,
};

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-base-image-'));
  store = new BlobStore(path.join(dir, 'blobs'));
  const blob = store.path(BROKEN.digest);
  await mkdir(path.dirname(blob), { recursive: true });
  // A gzip header followed by garbage, so extraction fails every time.
  await writeFile(blob, Buffer.from([0x1f, 0x8b, 0x08, 0x00, 1, 2, 3, 4, 5, 6, 7, 8]));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('applyLayers retries', () => {
  it('retries a failed extraction, then fails', async () => {
    const attempts: number[] = [];
    const failure = await applyLayers(store, [BROKEN], [], path.join(dir, 'rootfs'), {
      retries: 2,
      onRetry: (layer, attempt) => {
        expect(layer.digest).toBe(BROKEN.digest);
        attempts.push(attempt);
      },
    }).catch((error: unknown) => error);
    expect(attempts).toEqual([1, 2]);
    expect(failure).toBeInstanceOf(Error);
  });

  it('does not retry by default', async () => {
    let retried = false;
    const failure = await applyLayers(store, [BROKEN], [], path.join(dir, 'rootfs'), {
      onRetry: () => (retried = true),
    }).catch((error: unknown) => error);
    expect(retried).toBe(false);
    expect(failure).toBeInstanceOf(Error);
  });
});
