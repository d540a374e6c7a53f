import { readFile } from 'node:fs/promises';
import { hostPlatform, MediaType, parsePlatform, sha256Digest } from '@kiln/oci-spec';
import { RegistryClient, type RegistryEvent } from '@kiln/registry-client';
import {
  makeTempDir,
  pushBusybox,
  removeTempDir,
  startRegistry,
  type TestRegistry,
} from '@kiln/testkit';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BaseImageCache, type BaseImageCacheEvent } from './base-image-cache.js';
import { damageBlobFile } from './conformance.js';

// Counts requests in the registry's access log since `from` (a byte offset into the log).
async function countRequests(registry: TestRegistry, from: number, pattern: RegExp) {
  const log = (await readFile(registry.logPath, 'utf8')).slice(from);
  return log.split('\n').filter((line) => line.includes('"GET ') && pattern.test(line)).length;
}

async function logSize(registry: TestRegistry): Promise<number> {
  return (await readFile(registry.logPath, 'utf8')).length;
}

describe('BaseImageCache', () => {
  let registry: TestRegistry;
  let busybox: string;
  let root: string;
  let pulled: RegistryEvent[];
  let client: RegistryClient;

  beforeAll(async () => {
    registry = await startRegistry();
    busybox = await pushBusybox(registry);
  });
  afterAll(async () => {
    await registry.stop();
  });
  beforeEach(async () => {
    root = await makeTempDir('base-cache');
    pulled = [];
    client = new RegistryClient({
      insecure: true,
      retries: 0,
      dockerConfigDir: false,
      onEvent: (event) => {
        if (event.type === 'blob-pulled') pulled.push(event);
      },
    });
  });
  afterEach(async () => {
    await client.close();
    await removeTempDir(root);
  });

  it('pulls nothing the second time', async () => {
    const first = await new BaseImageCache(root).pull(client, busybox, hostPlatform());
    expect(first.layers.length).toBeGreaterThan(0);
    expect(first.downloaded).toBe(2 + first.layers.length);
    for (const layer of first.layers)
      expect(sha256Digest(await readFile(layer.path))).toBe(layer.descriptor.digest);

    pulled.length = 0;
    const offset = await logSize(registry);
    const events: BaseImageCacheEvent[] = [];
    const second = await new BaseImageCache(root, { onEvent: (event) => events.push(event) }).pull(
      client,
      busybox,
      hostPlatform(),
    );
    expect(second.downloaded).toBe(0);
    expect(pulled).toEqual([]);
    expect(await countRequests(registry, offset, /\/blobs\//)).toBe(0);
    expect(await countRequests(registry, offset, /\/manifests\//)).toBe(0);
    expect(second.reference.toString()).toBe(first.reference.toString());
    expect(second.layers).toEqual(first.layers);
    expect(
      events.every((event) => (event.type === 'base-blob' ? event.source === 'cache' : true)),
    ).toBe(true);
  });

  it('asks the registry for a stale tag but fetches no blob', async () => {
    await new BaseImageCache(root).pull(client, busybox, hostPlatform());
    const offset = await logSize(registry);
    const again = await new BaseImageCache(root, { referenceTtlMs: 0 }).pull(
      client,
      busybox,
      hostPlatform(),
    );
    expect(again.downloaded).toBe(1);
    expect(await countRequests(registry, offset, /\/manifests\/latest/)).toBe(1);
    expect(await countRequests(registry, offset, /\/blobs\//)).toBe(0);
  });

  it('downloads a damaged layer again', async () => {
    const first = await new BaseImageCache(root).pull(client, busybox, hostPlatform());
    const layer = first.layers[0]!;
    await damageBlobFile(layer.path, 'flip-byte');
    pulled.length = 0;
    const events: BaseImageCacheEvent[] = [];
    const second = await new BaseImageCache(root, { onEvent: (event) => events.push(event) }).pull(
      client,
      busybox,
      hostPlatform(),
    );
    expect(second.downloaded).toBe(1);
    expect(pulled.map((event) => (event as { digest: string }).digest)).toEqual([
      layer.descriptor.digest,
    ]);
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'base-blob-damaged', digest: layer.descriptor.digest }),
    );
    expect(sha256Digest(await readFile(layer.path))).toBe(layer.descriptor.digest);
  });

  it('picks the platform from an index and caches the index', async () => {
    const single = await client.getManifest(busybox);
    const other = parsePlatform(
      hostPlatform().architecture === 'arm64' ? 'linux/amd64' : 'linux/arm64',
    );
    const index = {
      schemaVersion: 2,
      mediaType: MediaType.OciIndex,
      manifests: [
        { ...single.descriptor, platform: other },
        { ...single.descriptor, platform: hostPlatform() },
      ],
    };
    const multi = `${registry.host}/library/busybox:multi`;
    await client.pushManifest(
      multi,
      new TextEncoder().encode(JSON.stringify(index)),
      MediaType.OciIndex,
    );

    const first = await new BaseImageCache(root).pull(client, multi, hostPlatform());
    expect(first.reference.digest).toBe(single.descriptor.digest);
    expect(first.resolvedDigest).not.toBe(single.descriptor.digest);
    const offset = await logSize(registry);
    const second = await new BaseImageCache(root).pull(client, multi, hostPlatform());
    expect(second.downloaded).toBe(0);
    expect(await countRequests(registry, offset, /\/v2\//)).toBe(0);
  });

  it('serves a digest reference a tag pull stored', async () => {
    const first = await new BaseImageCache(root).pull(client, busybox, hostPlatform());
    const offset = await logSize(registry);
    const pinned = `${registry.host}/library/busybox@${first.manifestDescriptor.digest}`;
    const again = await new BaseImageCache(root).pull(client, pinned, hostPlatform());
    expect(again.downloaded).toBe(0);
    expect(again.layers).toEqual(first.layers);
    expect(await countRequests(registry, offset, /\/v2\//)).toBe(0);
  });

  it('uses a stale tag when the registry is down', async () => {
    const own = await startRegistry();
    try {
      const reference = await pushBusybox(own);
      await new BaseImageCache(root).pull(client, reference, hostPlatform());
      await own.stop();
      const events: BaseImageCacheEvent[] = [];
      const offline = await new BaseImageCache(root, {
        referenceTtlMs: 0,
        onEvent: (event) => events.push(event),
      }).pull(client, reference, hostPlatform());
      expect(offline.downloaded).toBe(0);
      expect(events).toContainEqual(
        expect.objectContaining({ type: 'base-reference', source: 'stale-cache' }),
      );
    } finally {
      await own.stop();
    }
  });

  it('uses a digest reference without the registry', async () => {
    const first = await new BaseImageCache(root).pull(client, busybox, hostPlatform());
    const pinned = first.reference.toString();
    await new BaseImageCache(root).pull(client, pinned, hostPlatform());
    const offset = await logSize(registry);
    const again = await new BaseImageCache(root, { referenceTtlMs: 0 }).pull(
      client,
      pinned,
      hostPlatform(),
    );
    expect(again.downloaded).toBe(0);
    expect(await countRequests(registry, offset, /\/v2\//)).toBe(0);
  });
});
