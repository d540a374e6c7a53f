import {
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  truncate,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { MediaType } from '@kiln/oci-spec';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { damageBlobFile, describeCacheStoreConformance, type BlobDamage } from './conformance.js';
import { LocalDirectoryStore } from './local-store.js';

async function localHarness(verify: 'digest' | 'size') {
  const root = await mkdtemp(join(tmpdir(), 'kiln-cache-local-'));
  const store = new LocalDirectoryStore(root, { verify });
  return {
    store,
    damageBlob: (digest: string, kind: BlobDamage) => damageBlobFile(store.blobPath(digest), kind),
    // Size checks cannot see a flipped byte until the stream ends.
    detectedDamage: verify === 'digest' ? undefined : (['truncate', 'remove'] as const),
    openSecondStore: async () => new LocalDirectoryStore(root, { verify }),
    openStoreWithTtl: async (ttlMs: number) => new LocalDirectoryStore(root, { verify, ttlMs }),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

describeCacheStoreConformance('LocalDirectoryStore', () => localHarness('digest'));
describeCacheStoreConformance('LocalDirectoryStore with size checks', () => localHarness('size'));

describe('LocalDirectoryStore', () => {
  let root: string;
  let store: LocalDirectoryStore;
  const layer = { mediaType: MediaType.OciLayerGzip };

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'kiln-cache-local-'));
    store = new LocalDirectoryStore(root);
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('reports an unreadable record as corrupt', async () => {
    await store.put('key', { stream: Readable.from([Buffer.from('x')]) }, layer);
    await writeFile(store.recordPath('key'), '{"formatVersion":1,');
    const lookup = await store.get('key');
    expect(lookup.status).toBe('corrupt');
    if (lookup.status === 'corrupt') expect(lookup.corruption).toBe('record-invalid');
  });

  it('reports a record stored under another key as corrupt', async () => {
    await store.put('key-1', { stream: Readable.from([Buffer.from('x')]) }, layer);
    await mkdir(dirname(store.recordPath('key-2')), { recursive: true });
    await writeFile(store.recordPath('key-2'), await readFile(store.recordPath('key-1')));
    const lookup = await store.get('key-2');
    expect(lookup).toMatchObject({ status: 'corrupt', corruption: 'record-invalid' });
  });

  it('names the kind of blob damage', async () => {
    const truncated = await store.put(
      'truncated',
      { stream: Readable.from([Buffer.alloc(500, 1)]) },
      layer,
    );
    await truncate(store.blobPath(truncated.descriptor.digest), 10);
    expect(await store.get('truncated')).toMatchObject({
      status: 'corrupt',
      corruption: 'size-mismatch',
    });

    const flipped = await store.put(
      'flipped',
      { stream: Readable.from([Buffer.alloc(500, 2)]) },
      layer,
    );
    await damageBlobFile(store.blobPath(flipped.descriptor.digest), 'flip-byte');
    expect(await store.get('flipped')).toMatchObject({
      status: 'corrupt',
      corruption: 'digest-mismatch',
    });

    const removed = await store.put(
      'removed',
      { stream: Readable.from([Buffer.alloc(500, 3)]) },
      layer,
    );
    await unlink(store.blobPath(removed.descriptor.digest));
    expect(await store.get('removed')).toMatchObject({
      status: 'corrupt',
      corruption: 'blob-missing',
    });
  });

  it('leaves no temporary files behind', async () => {
    await store.put('key', { stream: Readable.from([Buffer.from('content')]) }, layer);
    await store
      .put('bad', { stream: Readable.from([Buffer.from('content')]) }, { ...layer, size: 3 })
      .catch(() => undefined);
    expect(await readdir(join(root, 'tmp'))).toEqual([]);
  });

  it('stores blobs by digest', async () => {
    const record = await store.put(
      'key',
      { stream: Readable.from([Buffer.from('content')]) },
      layer,
    );
    expect(store.blobPath(record.descriptor.digest)).toBe(
      join(root, 'blobs', 'sha256', record.descriptor.digest.slice(7)),
    );
    expect((await readFile(store.blobPath(record.descriptor.digest))).toString()).toBe('content');
  });
});
