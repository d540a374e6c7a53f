import { Readable } from 'node:stream';
import { mkdtemp, open, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MediaType, sha256Digest } from '@kiln/oci-spec';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CacheKeyInputs } from './cache-key.js';
import { CacheError } from './errors.js';
import { cacheSlotOf, findNearestRecord } from './key-slot.js';
import type { CacheLookup, CacheStore } from './store.js';

/** Kind of damage a harness does to a stored blob, to check that the store reports it as corrupt. */
export type BlobDamage = 'truncate' | 'flip-byte' | 'remove';

/** A store under test plus the store-specific operations the suite needs. */
export interface CacheStoreHarness {
  store: CacheStore;
  /** Damages the stored blob with this digest; the corruption tests are skipped without it. */
  damageBlob?(digest: string, damage: BlobDamage): Promise<void>;
  /** Kinds of damage the store detects on `get`; defaults to all. */
  detectedDamage?: readonly BlobDamage[];
  /**
   * Kinds of damage the next `put` of the same content repairs; defaults to `detectedDamage`.
   * A registry keeps a blob it has, whatever its content, so only a removed blob is repaired there.
   */
  repairedDamage?: readonly BlobDamage[];
  /** Opens a store over the same storage whose entries expire after `ttlMs`; skips the test without it. */
  openStoreWithTtl?(ttlMs: number): Promise<CacheStore>;
  /** Opens a second store over the same storage, to check concurrent writers. Defaults to `store`. */
  openSecondStore?(): Promise<CacheStore>;
  cleanup(): Promise<void>;
}

/** Damages a blob file in place, for harnesses whose stores keep blobs as files. */
export async function damageBlobFile(path: string, damage: BlobDamage): Promise<void> {
  if (damage === 'remove') return unlink(path);
  if (damage === 'truncate') return truncate(path, 10);
  const handle = await open(path, 'r+');
  try {
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, 100);
    byte[0] = byte[0]! ^ 0xff;
    await handle.write(byte, 0, 1, 100);
  } finally {
    await handle.close();
  }
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

function detects(harness: CacheStoreHarness, damage: BlobDamage): boolean {
  return (
    harness.damageBlob !== undefined &&
    (harness.detectedDamage ?? ['truncate', 'flip-byte', 'remove']).includes(damage)
  );
}

function repairs(harness: CacheStoreHarness, damage: BlobDamage): boolean {
  return (
    detects(harness, damage) &&
    (
      harness.repairedDamage ??
      harness.detectedDamage ?? ['truncate', 'flip-byte', 'remove']
    ).includes(damage)
  );
}

function expectHit(lookup: CacheLookup): Extract<CacheLookup, { status: 'hit' }> {
  expect(lookup.status).toBe('hit');
  if (lookup.status !== 'hit') throw new Error(`expected a hit, got ${JSON.stringify(lookup)}`);
  return lookup;
}

// Deterministic pseudo-random content, so a failure reproduces.
function content(seed: number, size: number): Buffer {
  const bytes = Buffer.alloc(size);
  let state = seed >>> 0 || 1;
  for (let index = 0; index < size; index++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    bytes[index] = state & 0xff;
  }
  return bytes;
}

/**
 * Defines the vitest suite every `CacheStore` implementation must pass. `factory` returns a fresh,
 * empty store for each test.
 */
export function describeCacheStoreConformance(
  name: string,
  factory: () => Promise<CacheStoreHarness>,
): void {
  describe(`CacheStore conformance: ${name}`, () => {
    let harness: CacheStoreHarness;
    let store: CacheStore;
    let scratch: string;
    const layer = { mediaType: MediaType.OciLayerGzip };

    beforeEach(async () => {
      harness = await factory();
      store = harness.store;
      scratch = await mkdtemp(join(tmpdir(), 'kiln-cache-conformance-'));
    });

    afterEach(async () => {
      await store.close?.();
      await harness.cleanup();
      await rm(scratch, { recursive: true, force: true });
    });

    it('misses an unknown key', async () => {
      expect(await store.get('sha256:unknown')).toEqual({ status: 'miss' });
    });

    it('returns what was put from a stream', async () => {
      const bytes = content(1, 100_000);
      const record = await store.put(
        'key-stream',
        { stream: Readable.from([bytes]) },
        {
          ...layer,
          diffId: sha256Digest('uncompressed'),
          annotations: { 'org.example.instruction': 'RUN true' },
        },
      );
      expect(record.descriptor).toEqual({
        mediaType: layer.mediaType,
        digest: sha256Digest(bytes),
        size: bytes.length,
      });

      const hit = expectHit(await store.get('key-stream'));
      expect(hit.record.key).toBe('key-stream');
      expect(hit.record.descriptor).toEqual(record.descriptor);
      expect(hit.record.diffId).toBe(sha256Digest('uncompressed'));
      expect(hit.record.annotations).toEqual({ 'org.example.instruction': 'RUN true' });
      expect(Number.isNaN(Date.parse(hit.record.createdAt))).toBe(false);
      expect((await readAll(await hit.open())).equals(bytes)).toBe(true);
    });

    it('stores from a file and an opener alike', async () => {
      const bytes = content(2, 5000);
      const path = join(scratch, 'blob');
      await writeFile(path, bytes);
      const fromFile = await store.put('key-file', { path }, layer);
      const fromOpener = await store.put(
        'key-opener',
        { open: () => Readable.from([bytes]) },
        layer,
      );
      expect(fromFile.descriptor.digest).toBe(sha256Digest(bytes));
      expect(fromOpener.descriptor).toEqual(fromFile.descriptor);
      expect(
        (await readAll(await expectHit(await store.get('key-file')).open())).equals(bytes),
      ).toBe(true);
      expect(
        (await readAll(await expectHit(await store.get('key-opener')).open())).equals(bytes),
      ).toBe(true);
    });

    it('stores an empty blob', async () => {
      await store.put('key-empty', { stream: Readable.from([]) }, layer);
      const hit = expectHit(await store.get('key-empty'));
      expect(hit.record.descriptor.size).toBe(0);
      expect((await readAll(await hit.open())).length).toBe(0);
    });

    it('opens a hit more than once', async () => {
      const bytes = content(3, 1000);
      await store.put('key-twice', { stream: Readable.from([bytes]) }, layer);
      const hit = expectHit(await store.get('key-twice'));
      expect((await readAll(await hit.open())).equals(bytes)).toBe(true);
      expect((await readAll(await hit.open())).equals(bytes)).toBe(true);
    });

    it('streams a multi-megabyte blob', async () => {
      const chunk = content(4, 1 << 20);
      const chunks = Array.from({ length: 8 }, (_, index) =>
        index % 2 === 0 ? chunk : chunk.subarray().reverse(),
      );
      const record = await store.put('key-large', { stream: Readable.from(chunks) }, layer);
      expect(record.descriptor.size).toBe(8 << 20);
      const read = await readAll(await expectHit(await store.get('key-large')).open());
      expect(sha256Digest(read)).toBe(record.descriptor.digest);
    });

    it('accepts content matching the expected digest and size', async () => {
      const bytes = content(5, 300);
      const record = await store.put(
        'key-expected',
        { stream: Readable.from([bytes]) },
        {
          ...layer,
          digest: sha256Digest(bytes),
          size: bytes.length,
        },
      );
      expect(record.descriptor.digest).toBe(sha256Digest(bytes));
    });

    it('rejects content with another digest and stores nothing', async () => {
      const put = store.put(
        'key-wrong',
        { stream: Readable.from([content(6, 300)]) },
        {
          ...layer,
          digest: sha256Digest('something else'),
        },
      );
      await expect(put).rejects.toBeInstanceOf(CacheError);
      await expect(put).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
      expect(await store.get('key-wrong')).toEqual({ status: 'miss' });
    });

    it('rejects truncated content and stores nothing', async () => {
      const bytes = content(7, 300);
      const put = store.put(
        'key-short',
        { stream: Readable.from([bytes.subarray(0, 200)]) },
        {
          ...layer,
          digest: sha256Digest(bytes),
          size: bytes.length,
        },
      );
      await expect(put).rejects.toMatchObject({ code: 'SIZE_MISMATCH' });
      expect(await store.get('key-short')).toEqual({ status: 'miss' });
    });

    it('fails a put whose source stream fails', async () => {
      const failing = new Readable({
        read() {
          this.destroy(new Error('source failed'));
        },
      });
      await expect(store.put('key-failing', { stream: failing }, layer)).rejects.toBeInstanceOf(
        Error,
      );
      expect(await store.get('key-failing')).toEqual({ status: 'miss' });
    });

    it('replaces the record of a key put again', async () => {
      await store.put('key-replace', { stream: Readable.from([content(8, 100)]) }, layer);
      const second = content(9, 200);
      await store.put('key-replace', { stream: Readable.from([second]) }, layer);
      const hit = expectHit(await store.get('key-replace'));
      expect(hit.record.descriptor.digest).toBe(sha256Digest(second));
      expect((await readAll(await hit.open())).equals(second)).toBe(true);
    });

    it('shares one blob between keys', async () => {
      const bytes = content(10, 1000);
      await store.put('key-a', { stream: Readable.from([bytes]) }, layer);
      await store.put('key-b', { stream: Readable.from([bytes]) }, layer);
      expect(await store.delete('key-a')).toBe(true);
      expect(await store.get('key-a')).toEqual({ status: 'miss' });
      expect((await readAll(await expectHit(await store.get('key-b')).open())).equals(bytes)).toBe(
        true,
      );
    });

    it('deletes a key once', async () => {
      await store.put('key-delete', { stream: Readable.from([content(11, 10)]) }, layer);
      expect(await store.delete('key-delete')).toBe(true);
      expect(await store.delete('key-delete')).toBe(false);
      expect(await store.get('key-delete')).toEqual({ status: 'miss' });
    });

    it('accepts keys with any characters', async () => {
      const keys = ['sha256:' + 'a'.repeat(64), 'with/slashes/../and spaces', 'ünïcödé ✓', '.'];
      for (const [index, key] of keys.entries()) {
        await store.put(key, { stream: Readable.from([content(20 + index, 50)]) }, layer);
      }
      for (const [index, key] of keys.entries()) {
        const hit = expectHit(await store.get(key));
        expect(hit.record.key).toBe(key);
        expect(hit.record.descriptor.digest).toBe(sha256Digest(content(20 + index, 50)));
      }
    });

    it('rejects an empty key', async () => {
      await expect(
        store.put('', { stream: Readable.from([content(29, 10)]) }, layer),
      ).rejects.toMatchObject({
        code: 'INVALID_KEY_INPUT',
      });
    });

    it.each([
      ['media type', { mediaType: 'not a media type' }],
      ['expected digest', { mediaType: MediaType.OciLayerGzip, digest: 'sha256:short' }],
      ['diffId', { mediaType: MediaType.OciLayerGzip, diffId: 'uncompressed' }],
    ])('rejects an invalid %s before storing', async (_field, options) => {
      await expect(
        store.put('key-invalid', { stream: Readable.from([content(28, 10)]) }, options),
      ).rejects.toMatchObject({
        code: 'INVALID_ENTRY',
      });
      expect(await store.get('key-invalid')).toEqual({ status: 'miss' });
    });

    it('survives two writers at once', async () => {
      const second =
        harness.openSecondStore === undefined ? store : await harness.openSecondStore();
      const blobs = Array.from({ length: 6 }, (_, index) => content(30 + index, 200_000));
      await Promise.all(
        blobs.flatMap((bytes, index) => [
          store.put('key-shared', { stream: Readable.from([bytes]) }, layer),
          second.put('key-shared', { stream: Readable.from([bytes]) }, layer),
          store.put(`key-own-${index}`, { stream: Readable.from([bytes]) }, layer),
          second.put(`key-own-${index}`, { stream: Readable.from([bytes]) }, layer),
        ]),
      );
      const shared = expectHit(await second.get('key-shared'));
      const read = await readAll(await shared.open());
      expect(blobs.some((bytes) => bytes.equals(read))).toBe(true);
      for (const [index, bytes] of blobs.entries()) {
        const own = expectHit(await store.get(`key-own-${index}`));
        expect((await readAll(await own.open())).equals(bytes)).toBe(true);
      }
    });

    describe.each(['truncate', 'flip-byte', 'remove'] as const)(
      'a blob damaged by %s',
      (damage) => {
        // Each kind of damage gets its own content, because a registry shares blobs between tests.
        const seed = 100 * (['truncate', 'flip-byte', 'remove'].indexOf(damage) + 1);

        it('reads as corrupt, not as an error', async (context) => {
          if (!detects(harness, damage)) context.skip();
          const bytes = content(seed + 40, 4096);
          const record = await store.put('key-damaged', { stream: Readable.from([bytes]) }, layer);
          await harness.damageBlob!(record.descriptor.digest, damage);
          const lookup = await store.get('key-damaged');
          expect(lookup.status).toBe('corrupt');
          if (lookup.status === 'corrupt')
            expect(lookup.message).toContain(record.descriptor.digest);
        });

        it('reads as a miss after it was reported', async (context) => {
          if (!detects(harness, damage)) context.skip();
          const record = await store.put(
            'key-reported',
            { stream: Readable.from([content(seed + 44, 4096)]) },
            layer,
          );
          await harness.damageBlob!(record.descriptor.digest, damage);
          expect((await store.get('key-reported')).status).toBe('corrupt');
          expect(await store.get('key-reported')).toEqual({ status: 'miss' });
        });

        it('is repaired by the next put', async (context) => {
          if (!repairs(harness, damage)) context.skip();
          const bytes = content(seed + 41, 4096);
          const record = await store.put('key-repair', { stream: Readable.from([bytes]) }, layer);
          await harness.damageBlob!(record.descriptor.digest, damage);
          expect((await store.get('key-repair')).status).toBe('corrupt');
          await store.put('key-repair', { stream: Readable.from([bytes]) }, layer);
          const hit = expectHit(await store.get('key-repair'));
          expect((await readAll(await hit.open())).equals(bytes)).toBe(true);
        });
      },
    );

    it('lists the records of a slot, newest first', async (context) => {
      if (store.listSlot === undefined) context.skip();
      const base: CacheKeyInputs = {
        parentKey: sha256Digest('parent'),
        instruction: 'RUN make',
        buildArgs: { TOKEN: 'secret-value', MODE: 'debug' },
        env: ['PATH=/bin'],
        platform: 'linux/amd64',
      };
      const older = { ...base, buildArgs: { ...base.buildArgs, MODE: 'release' } };
      const other = { ...base, parentKey: sha256Digest('other parent') };
      await store.put(
        'key-older',
        { stream: Readable.from([content(50, 100)]) },
        {
          ...layer,
          inputs: older,
        },
      );
      await new Promise((resolveDelay) => setTimeout(resolveDelay, 5));
      const newer = { ...base, instruction: 'RUN make all', env: ['PATH=/usr/bin'] };
      await store.put(
        'key-newer',
        { stream: Readable.from([content(51, 100)]) },
        {
          ...layer,
          inputs: newer,
        },
      );
      await store.put(
        'key-other',
        { stream: Readable.from([content(52, 100)]) },
        {
          ...layer,
          inputs: other,
        },
      );
      await store.flush?.();

      const records = await store.listSlot!(cacheSlotOf(base));
      expect(records.map((record) => record.key)).toEqual(['key-newer', 'key-older']);
      expect(records[0]!.slot).toBe(cacheSlotOf(base));
      expect(records[0]!.inputs?.instruction).toBe('RUN make all');
      expect(records[0]!.inputs?.buildArgs.TOKEN).toBe(sha256Digest('secret-value'));
      expect(JSON.stringify(records)).not.toContain('secret-value');
      expect(await store.listSlot!(cacheSlotOf(other))).toHaveLength(1);
      expect(await store.listSlot!(sha256Digest('empty slot'))).toEqual([]);
      expect(await store.listSlot!(cacheSlotOf(base), { limit: 1 })).toHaveLength(1);

      const nearest = findNearestRecord(records, base);
      expect(nearest?.record.key).toBe('key-older');
      expect(nearest?.differences).toEqual([{ field: 'args.MODE', change: 'changed' }]);
    });

    it('leaves a deleted key out of its slot', async (context) => {
      if (store.listSlot === undefined) context.skip();
      const inputs: CacheKeyInputs = {
        parentKey: 'scratch',
        instruction: 'COPY a /a',
        platform: 'linux/arm64',
      };
      await store.put(
        'key-listed',
        { stream: Readable.from([content(53, 10)]) },
        {
          ...layer,
          inputs,
        },
      );
      await store.flush?.();
      expect(await store.delete('key-listed')).toBe(true);
      expect(await store.listSlot!(cacheSlotOf(inputs))).toEqual([]);
    });

    it('reports background writes on flush', async (context) => {
      if (store.flush === undefined) context.skip();
      await store.put('key-flush', { stream: Readable.from([content(54, 1000)]) }, layer);
      expect(await store.flush!()).toEqual({ written: 1, failed: [] });
      expect(await store.flush!()).toEqual({ written: 0, failed: [] });
      expectHit(await store.get('key-flush'));
    });

    it('misses an entry older than its time to live', async (context) => {
      if (harness.openStoreWithTtl === undefined) context.skip();
      await store.put('key-ttl', { stream: Readable.from([content(55, 100)]) }, layer);
      await store.flush?.();
      await new Promise((resolveDelay) => setTimeout(resolveDelay, 20));
      const expiring = await harness.openStoreWithTtl!(10);
      const fresh = await harness.openStoreWithTtl!(60 * 60 * 1000);
      try {
        expect(await expiring.get('key-ttl')).toEqual({ status: 'miss', reason: 'expired' });
        expectHit(await fresh.get('key-ttl'));
      } finally {
        await expiring.close?.();
        await fresh.close?.();
      }
    });

    it('stops reading when the consumer destroys the stream', async () => {
      await store.put('key-destroy', { stream: Readable.from([content(43, 1 << 20)]) }, layer);
      const stream = await expectHit(await store.get('key-destroy')).open();
      stream.destroy();
      await new Promise((resolveClose) => stream.once('close', resolveClose));
      expect(stream.destroyed).toBe(true);
      expect((await readAll(await expectHit(await store.get('key-destroy')).open())).length).toBe(
        1 << 20,
      );
    });

    it('fails at end of stream when a hit blob changes after get', async (context) => {
      if (harness.damageBlob === undefined) context.skip();
      const record = await store.put(
        'key-late',
        { stream: Readable.from([content(42, 4096)]) },
        layer,
      );
      const hit = expectHit(await store.get('key-late'));
      await harness.damageBlob!(record.descriptor.digest, 'flip-byte');
      await expect(hit.open().then(readAll)).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
    });
  });
}
