import { createReadStream } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { parseReference } from '@kiln/oci-spec';
import {
  makeRandomImage,
  makeTempDir,
  skopeoCopy,
  skopeoInspect,
  startFaultProxy,
  startRegistry,
} from '@kiln/testkit';
import type { FaultProxy, RandomImage, TestRegistry } from '@kiln/testkit';

import { RegistryClient } from './client.js';
import type { PushImageInput } from './client.js';
import type { RegistryEvent } from './events.js';

function pushInput(image: RandomImage): PushImageInput {
  return {
    manifestBytes: image.manifestBytes,
    mediaType: image.manifestDescriptor.mediaType,
    blobs: [image.config, ...image.layers].map((blob) => ({
      descriptor: blob.descriptor,
      open: () => createReadStream(blob.path),
    })),
  };
}

describe('push', () => {
  let registry: TestRegistry;
  let proxy: FaultProxy;
  let image: RandomImage;
  const cleanups: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    registry = await startRegistry();
    proxy = await startFaultProxy(registry.url);
    image = await makeRandomImage(await makeTempDir('push-image'), {
      layerSizes: [200_000, 3 * 1024 * 1024, 10],
    });
  });

  afterAll(async () => {
    for (const cleanup of cleanups) await cleanup();
    await proxy?.stop();
    await registry?.stop();
  });

  function newClient(
    options: ConstructorParameters<typeof RegistryClient>[0] = {},
  ): RegistryClient {
    const client = new RegistryClient({
      insecure: true,
      retries: { retries: 3, baseDelayMs: 10 },
      ...options,
    });
    cleanups.push(() => client.close());
    return client;
  }

  it('pushes an image that skopeo reads back', async () => {
    const client = newClient();
    const result = await client.pushImage(`${registry.host}/push/app:v1`, pushInput(image));
    expect(result.digest).toBe(image.manifestDescriptor.digest);
    expect(Object.values(result.blobs)).toEqual(['uploaded', 'uploaded', 'uploaded', 'uploaded']);

    const raw = (await skopeoInspect(`${registry.host}/push/app:v1`, { raw: true })) as object;
    expect(JSON.stringify(raw)).toBe(Buffer.from(image.manifestBytes).toString());
    const inspected = (await skopeoInspect(`${registry.host}/push/app:v1`)) as { Digest: string };
    expect(inspected.Digest).toBe(image.manifestDescriptor.digest);
    // skopeo checks every blob's digest while copying to a layout.
    await skopeoCopy(`${registry.host}/push/app:v1`, `oci:${await makeTempDir('copy-back')}:v1`);
  });

  it('skips blobs the repository has', async () => {
    const client = newClient();
    const result = await client.pushImage(`${registry.host}/push/app:v1-again`, pushInput(image));
    expect(Object.values(result.blobs)).toEqual(['exists', 'exists', 'exists', 'exists']);
  });

  it('mounts blobs from another repository', async () => {
    const events: RegistryEvent[] = [];
    const client = newClient({ onEvent: (event) => events.push(event) });
    const input = pushInput(image);
    input.blobs = input.blobs.map((blob) => ({
      ...blob,
      mountFrom: [`${registry.host}/push/app`],
    }));
    const result = await client.pushImage(`${registry.host}/mounted/app:v1`, input);
    expect(Object.values(result.blobs)).toEqual(['mounted', 'mounted', 'mounted', 'mounted']);
    expect(events.filter((event) => event.type === 'blob-mounted')).toHaveLength(4);
    await skopeoCopy(
      `${registry.host}/mounted/app:v1`,
      `oci:${await makeTempDir('copy-mounted')}:v1`,
    );
  });

  it('uploads each blob once for two destinations', async () => {
    const fresh = await makeRandomImage(await makeTempDir('shared'), {
      layerSizes: [100_000, 50_000],
    });
    const client = newClient({ insecure: true });
    const [first, second] = await Promise.all([
      client.pushImage(`${proxy.host}/shared/one:v1`, pushInput(fresh)),
      client.pushImage(`${proxy.host}/shared/two:v1`, pushInput(fresh)),
    ]);
    const outcomes = [...Object.values(first!.blobs), ...Object.values(second!.blobs)];
    expect(outcomes.filter((outcome) => outcome === 'uploaded')).toHaveLength(3);
    expect(outcomes.filter((outcome) => outcome === 'mounted')).toHaveLength(3);
    const uploads = proxy.log.filter(
      (entry) => entry.method === 'PUT' && entry.path.includes('/blobs/uploads/'),
    );
    expect(uploads).toHaveLength(3);
  });

  it('pushes a manifest by digest', async () => {
    const client = newClient();
    await client.pushImage(`${registry.host}/bydigest/app:tmp`, pushInput(image));
    const reference = parseReference(
      `${registry.host}/bydigest/other@${image.manifestDescriptor.digest}`,
    );
    const input = pushInput(image);
    input.blobs = input.blobs.map((blob) => ({ ...blob, mountFrom: ['bydigest/app'] }));
    const result = await client.pushImage(reference, input);
    expect(result.digest).toBe(image.manifestDescriptor.digest);
    const inspected = (await skopeoInspect(reference.toString(), { noTags: true })) as {
      Digest: string;
    };
    expect(inspected.Digest).toBe(image.manifestDescriptor.digest);
  });

  it('uploads in chunks honouring OCI-Chunk-Min-Length', async () => {
    const small = await makeRandomImage(await makeTempDir('chunks'), { layerSizes: [250_000] });
    const client = newClient({ chunkSize: 64 * 1024 });
    const before = proxy.log.length;
    await client.pushBlob(`${proxy.host}/chunked/a:v1`, small.layers[0]!.descriptor, () =>
      createReadStream(small.layers[0]!.path),
    );
    const patches = proxy.log.slice(before).filter((entry) => entry.method === 'PATCH');
    // 250000 bytes in 64 KiB chunks.
    expect(patches).toHaveLength(4);

    proxy.addRule({
      method: 'POST',
      path: /\/chunked\/b\/blobs\/uploads\/$/,
      fault: { kind: 'headers', headers: { 'oci-chunk-min-length': '131072' } },
    });
    const beforeMin = proxy.log.length;
    // A new client, because this one would mount the blob it has just uploaded.
    await newClient({ chunkSize: 64 * 1024 }).pushBlob(
      `${proxy.host}/chunked/b:v1`,
      small.layers[0]!.descriptor,
      () => createReadStream(small.layers[0]!.path),
    );
    const minPatches = proxy.log.slice(beforeMin).filter((entry) => entry.method === 'PATCH');
    expect(minPatches).toHaveLength(2);
    expect(
      await client.hasBlob(`${registry.host}/chunked/b:v1`, small.layers[0]!.descriptor.digest),
    ).toBe(true);
  });

  it('refuses to commit chunks that do not match the digest', async () => {
    const small = await makeRandomImage(await makeTempDir('wrong'), { layerSizes: [1000] });
    const client = newClient({ chunkSize: 512 });
    const wrong = { ...small.layers[0]!.descriptor, digest: `sha256:${'0'.repeat(64)}` };
    await expect(
      client.pushBlob(`${proxy.host}/chunked/c:v1`, wrong, () =>
        createReadStream(small.layers[0]!.path),
      ),
    ).rejects.toThrow(/hashed to sha256:[0-9a-f]{64} \(1000 bytes\); not committing/);
    expect(await client.hasBlob(`${registry.host}/chunked/c:v1`, wrong.digest)).toBe(false);
    // The abandoned session is deleted rather than left to expire.
    const cancel = proxy.log.find(
      (entry) => entry.method === 'DELETE' && entry.path.startsWith('/v2/chunked/c/blobs/uploads/'),
    );
    expect(cancel?.status).toBe(204);
  });

  it('keeps the exact manifest media type', async () => {
    const client = newClient();
    const dockerManifest = JSON.parse(Buffer.from(image.manifestBytes).toString()) as Record<
      string,
      unknown
    >;
    dockerManifest.mediaType = 'application/vnd.docker.distribution.manifest.v2+json';
    dockerManifest.config = {
      ...image.config.descriptor,
      mediaType: 'application/vnd.docker.container.image.v1+json',
    };
    const bytes = Buffer.from(JSON.stringify(dockerManifest));
    await client.pushManifest(
      `${registry.host}/push/app:docker`,
      bytes,
      'application/vnd.docker.distribution.manifest.v2+json',
    );
    const fetched = await client.getManifest(`${registry.host}/push/app:docker`);
    expect(fetched.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(Buffer.from(fetched.bytes).equals(bytes)).toBe(true);
  });
});

describe('copy between registries', () => {
  it('streams every blob from one registry to another with one slot each', async () => {
    const source = await startRegistry();
    const target = await startRegistry();
    const client = new RegistryClient({ insecure: true, concurrency: 1 });
    try {
      const image = await makeRandomImage(await makeTempDir('copy'), {
        layerSizes: [10_000, 20_000, 30_000],
      });
      await client.pushImage(`${source.host}/src/app:v1`, pushInput(image));
      const resolved = await client.resolveImage(`${source.host}/src/app:v1`, {
        os: 'linux',
        architecture: 'amd64',
      });
      // Each opener downloads while its upload occupies the only push slot.
      const result = await client.pushImage(`${target.host}/dst/app:v1`, {
        manifestBytes: resolved.manifestBytes,
        mediaType: resolved.manifestDescriptor.mediaType,
        blobs: [resolved.configDescriptor, ...resolved.manifest.layers].map((descriptor) => ({
          descriptor,
          open: () => client.fetchBlob(resolved.reference, descriptor),
        })),
      });
      expect(result.digest).toBe(image.manifestDescriptor.digest);
      await skopeoCopy(`${target.host}/dst/app:v1`, `oci:${await makeTempDir('copy-check')}:v1`);
    } finally {
      await client.close();
      await source.stop();
      await target.stop();
    }
  });
});
