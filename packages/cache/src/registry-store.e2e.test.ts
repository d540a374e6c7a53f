import { readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import { MediaType, sha256Digest } from '@kiln/oci-spec';
import { RegistryClient } from '@kiln/registry-client';
import {
  makeTempDir,
  removeTempDir,
  skopeoInspect,
  startRegistry,
  type TestRegistry,
} from '@kiln/testkit';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { damageBlobFile, describeCacheStoreConformance, type BlobDamage } from './conformance.js';
import { RegistryCacheStore, type CacheStoreEvent } from './registry-store.js';

function registryBlobPath(registry: TestRegistry, digest: string): string {
  const hex = digest.slice('sha256:'.length);
  return join(registry.storageDir, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
}

let repositoryCounter = 0;

function registryHarness(registry: () => TestRegistry) {
  return async () => {
    const server = registry();
    const spoolDir = await makeTempDir('cache-spool');
    const repository = `${server.host}/cache/conformance-${process.pid}-${repositoryCounter++}`;
    const clientOptions = {
      insecure: [server.host],
      retries: 0,
      ...(server.credentials === undefined
        ? {}
        : { credentials: { [server.host]: server.credentials } }),
      dockerConfigDir: false as const,
    };
    const open = (ttlMs?: number, spool = spoolDir) =>
      new RegistryCacheStore({
        client: new RegistryClient(clientOptions),
        repository,
        spoolDir: spool,
        closeClient: true,
        ...(ttlMs === undefined ? {} : { ttlMs }),
      });
    const store = open();
    const extraSpools: string[] = [];
    const fresh = async (ttlMs?: number) => {
      const spool = await makeTempDir('cache-spool');
      extraSpools.push(spool);
      return open(ttlMs, spool);
    };
    return {
      store,
      damageBlob: async (digest: string, kind: BlobDamage) => {
        await store.flush();
        await damageBlobFile(registryBlobPath(server, digest), kind);
        // The store serves hits from its verified local copy, so that copy is damaged alike.
        const spooled = join(spoolDir, 'blobs', digest.replace(':', '-'));
        if ((await readdir(join(spoolDir, 'blobs'))).includes(basename(spooled)))
          await damageBlobFile(spooled, kind);
      },
      // A registry keeps a blob it has, whatever its content, so a put cannot repair it.
      repairedDamage: [] as BlobDamage[],
      openSecondStore: () => fresh(),
      openStoreWithTtl: (ttlMs: number) => fresh(ttlMs),
      cleanup: async () => {
        await removeTempDir(spoolDir);
        for (const spool of extraSpools) await removeTempDir(spool);
      },
    };
  };
}

describe('RegistryCacheStore on an anonymous registry', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry();
  });
  afterAll(async () => {
    await registry.stop();
  });

  describeCacheStoreConformance(
    'RegistryCacheStore',
    registryHarness(() => registry),
  );
});

describe('RegistryCacheStore with basic auth', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ htpasswd: { username: 'kiln', password: 'cache-pass' } });
  });
  afterAll(async () => {
    await registry.stop();
  });

  describeCacheStoreConformance(
    'RegistryCacheStore with basic auth',
    registryHarness(() => registry),
  );
});

describe('RegistryCacheStore', () => {
  let registry: TestRegistry;
  let authRegistry: TestRegistry;
  let spoolDir: string;
  const layer = { mediaType: MediaType.OciLayerGzip };

  beforeAll(async () => {
    registry = await startRegistry();
    authRegistry = await startRegistry({ htpasswd: { username: 'kiln', password: 'right' } });
  });
  afterAll(async () => {
    await registry.stop();
    await authRegistry.stop();
  });
  beforeEach(async () => {
    spoolDir = await makeTempDir('cache-spool');
  });
  afterEach(async () => {
    await removeTempDir(spoolDir);
  });

  function openStore(
    repository: string,
    options: { events?: unknown[]; password?: string; failOnPushError?: boolean } = {},
  ) {
    const events = options.events;
    const host = repository.split('/')[0]!;
    const client = new RegistryClient({
      insecure: [host],
      retries: 0,
      dockerConfigDir: false,
      ...(options.password === undefined
        ? {}
        : { credentials: { [host]: { username: 'kiln', password: options.password } } }),
      ...(events === undefined ? {} : { onEvent: (event) => events.push(event) }),
    });
    return new RegistryCacheStore({
      client,
      repository,
      spoolDir,
      closeClient: true,
      ...(options.failOnPushError === undefined ? {} : { failOnPushError: true }),
      ...(events === undefined ? {} : { onEvent: (event: CacheStoreEvent) => events.push(event) }),
    });
  }

  it('pushes each entry as an image skopeo reads', async () => {
    const store = openStore(`${registry.host}/cache/inspect`);
    const bytes = Buffer.from('layer content');
    const record = await store.put(
      sha256Digest('a key'),
      { stream: Readable.from([bytes]) },
      {
        ...layer,
        diffId: sha256Digest('uncompressed'),
        inputs: { parentKey: 'scratch', instruction: 'RUN true', platform: 'linux/arm64' },
      },
    );
    await store.flush();
    await store.close();

    const tag = `${registry.host}/cache/inspect:${sha256Digest(sha256Digest('a key')).slice(7)}`;
    const manifest = (await skopeoInspect(tag, { raw: true })) as {
      layers: Array<{ digest: string }>;
      annotations: Record<string, string>;
    };
    expect(manifest.layers.map((entry) => entry.digest)).toEqual([record.descriptor.digest]);
    expect(manifest.annotations['dev.kiln.cache.key']).toBe(sha256Digest('a key'));
    const config = (await skopeoInspect(tag, { raw: true, config: true })) as {
      architecture: string;
      rootfs: { diff_ids: string[] };
      'dev.kiln.cache.record': { createdAt: string };
    };
    expect(config.architecture).toBe('arm64');
    expect(config.rootfs.diff_ids).toEqual([sha256Digest('uncompressed')]);
    expect(config['dev.kiln.cache.record'].createdAt).toBe(record.createdAt);
  });

  it('reports a failed push on flush, not on put', async () => {
    const events: unknown[] = [];
    const store = openStore(`${authRegistry.host}/cache/denied`, { events, password: 'wrong' });
    const record = await store.put('key', { stream: Readable.from([Buffer.from('x')]) }, layer);
    expect(record.key).toBe('key');
    const result = await store.flush();
    expect(result.written).toBe(0);
    expect(result.failed.map((failure) => failure.key)).toEqual(['key']);
    expect(result.failed[0]!.error).toMatchObject({ code: 'STORE_FAILED' });
    expect(events).toContainEqual(expect.objectContaining({ type: 'cache-entry-push-failed' }));
    await store.close();
  });

  it('throws on flush when push errors are asked to fail', async () => {
    const store = openStore(`${authRegistry.host}/cache/strict`, {
      password: 'wrong',
      failOnPushError: true,
    });
    await store.put('key', { stream: Readable.from([Buffer.from('x')]) }, layer);
    await expect(store.flush()).rejects.toMatchObject({ code: 'STORE_FAILED' });
    await store.close();
  });

  it('mounts a layer from another repository and skips one it has', async () => {
    const bytes = Buffer.from('shared layer');
    const first = openStore(`${registry.host}/app/image`);
    await first.put('seed', { stream: Readable.from([bytes]) }, layer);
    await first.close();

    const events: Array<{ type: string; digest?: string }> = [];
    const store = openStore(`${registry.host}/cache/mounted`, { events });
    await store.put(
      'mounted',
      { stream: Readable.from([bytes]) },
      { ...layer, mountFrom: [`${registry.host}/app/image`] },
    );
    await store.flush();
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'blob-mounted', digest: sha256Digest(bytes) }),
    );

    events.length = 0;
    await store.put('again', { stream: Readable.from([bytes]) }, layer);
    await store.flush();
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'blob-exists', digest: sha256Digest(bytes) }),
    );
    expect(events.filter((event) => event.type === 'blob-pushed')).toHaveLength(1);
    await store.close();
  });

  it('serves a second store with a download it verifies', async () => {
    const bytes = Buffer.from('downloaded');
    const writer = openStore(`${registry.host}/cache/download`);
    await writer.put('key', { stream: Readable.from([bytes]) }, layer);
    await writer.close();

    const reader = new RegistryCacheStore({
      client: new RegistryClient({ insecure: true, retries: 0, dockerConfigDir: false }),
      repository: `${registry.host}/cache/download`,
      closeClient: true,
    });
    const lookup = await reader.get('key');
    expect(lookup.status).toBe('hit');
    if (lookup.status === 'hit') {
      const chunks: Buffer[] = [];
      for await (const chunk of await lookup.open()) chunks.push(chunk as Buffer);
      expect(Buffer.concat(chunks).equals(bytes)).toBe(true);
    }
    await reader.close();
  });
});
