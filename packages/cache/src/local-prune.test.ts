import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { MediaType } from '@kiln/oci-spec';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalDirectoryStore } from './local-store.js';

const layer = { mediaType: MediaType.OciLayer };
const HOUR = 60 * 60 * 1000;

describe('LocalDirectoryStore.prune', () => {
  let root: string;
  let store: LocalDirectoryStore;
  const now = Date.now();

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'kiln-cache-prune-'));
    store = new LocalDirectoryStore(root);
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  // Stores a 1000-byte blob under `key` and marks the record as last used `hoursAgo` hours ago.
  async function putUsed(key: string, fill: number, hoursAgo: number): Promise<string> {
    const record = await store.put(
      key,
      { stream: Readable.from([Buffer.alloc(1000, fill)]) },
      layer,
    );
    const when = new Date(now - hoursAgo * HOUR);
    await utimes(store.recordPath(key), when, when);
    await utimes(store.blobPath(record.descriptor.digest), when, when);
    return record.descriptor.digest;
  }

  it('removes least recently used records over the size limit', async () => {
    await putUsed('old', 1, 3);
    await putUsed('middle', 2, 2);
    await putUsed('new', 3, 1);
    const result = await store.prune({ maxBytes: 2000, now });
    expect(result).toEqual({
      removedRecords: 1,
      removedBlobs: 1,
      freedBytes: 1000,
      keptBytes: 2000,
    });
    expect((await store.get('old')).status).toBe('miss');
    expect((await store.get('middle')).status).toBe('hit');
    expect((await store.get('new')).status).toBe('hit');
  });

  it('counts a hit as a use', async () => {
    await putUsed('first', 1, 3);
    await putUsed('second', 2, 2);
    expect((await store.get('first')).status).toBe('hit');
    await store.prune({ maxBytes: 1000, now: Date.now() });
    expect((await store.get('first')).status).toBe('hit');
    expect((await store.get('second')).status).toBe('miss');
  });

  it('keeps a blob while another record references it', async () => {
    const shared = Buffer.alloc(1000, 7);
    await store.put('a', { stream: Readable.from([shared]) }, layer);
    await store.put('b', { stream: Readable.from([shared]) }, layer);
    const old = new Date(now - 5 * HOUR);
    await utimes(store.recordPath('a'), old, old);
    const result = await store.prune({ maxAgeMs: HOUR, now });
    expect(result.removedRecords).toBe(1);
    expect(result.removedBlobs).toBe(0);
    expect((await store.get('b')).status).toBe('hit');
  });

  it('removes records by age', async () => {
    await putUsed('stale', 1, 30);
    await putUsed('fresh', 2, 1);
    const result = await store.prune({ maxAgeMs: 24 * HOUR, now });
    expect(result.removedRecords).toBe(1);
    expect((await store.get('stale')).status).toBe('miss');
    expect((await store.get('fresh')).status).toBe('hit');
  });

  it('spares young unreferenced blobs and temporary files', async () => {
    const digest = await putUsed('x', 1, 0);
    await store.delete('x');
    await mkdir(join(root, 'tmp'), { recursive: true });
    await writeFile(join(root, 'tmp', 'in-progress.tmp'), 'partial');
    const young = await store.prune({ now });
    expect(young.removedBlobs).toBe(0);
    expect(await readdir(join(root, 'tmp'))).toEqual(['in-progress.tmp']);

    const later = await store.prune({ now: now + 2 * HOUR });
    expect(later.removedBlobs).toBe(1);
    expect(later.freedBytes).toBe(1000);
    expect(await readdir(join(root, 'tmp'))).toEqual([]);
    expect(await readdir(join(store.blobPath(digest), '..'))).toEqual([]);
  });

  it('removes unreadable records', async () => {
    await putUsed('broken', 1, 1);
    await writeFile(store.recordPath('broken'), 'not json');
    const result = await store.prune({ now });
    expect(result.removedRecords).toBe(1);
    expect((await store.get('broken')).status).toBe('miss');
  });

  it('prunes an empty or missing directory', async () => {
    const empty = new LocalDirectoryStore(join(root, 'does-not-exist'));
    expect(await empty.prune()).toEqual({
      removedRecords: 0,
      removedBlobs: 0,
      freedBytes: 0,
      keptBytes: 0,
    });
  });
});
