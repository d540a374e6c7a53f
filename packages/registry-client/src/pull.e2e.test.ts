import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { MediaType, parsePlatform, parseReference } from '@kiln/oci-spec';
import type { Descriptor } from '@kiln/oci-spec';
import {
  makeRandomImage,
  makeTempDir,
  pushBusybox,
  skopeoCopy,
  skopeoInspect,
  startFaultProxy,
  startRegistry,
} from '@kiln/testkit';
import type { FaultProxy, RandomImage, TestRegistry } from '@kiln/testkit';

import { RegistryClient } from './client.js';
import { RegistryError } from './errors.js';
import type { RegistryEvent } from './events.js';

// Keeps the random layers uncompressed, so their digests stay those of the layout.
const PRESERVE = { extraArgs: ['--preserve-digests'] };

function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('pull', () => {
  let registry: TestRegistry;
  let proxy: FaultProxy;
  let busybox: string;
  let image: RandomImage;
  let client: RegistryClient;
  const events: RegistryEvent[] = [];

  beforeAll(async () => {
    registry = await startRegistry();
    proxy = await startFaultProxy(registry.url);
    busybox = await pushBusybox(registry);
    image = await makeRandomImage(await makeTempDir('pull-image'), { layerSizes: [300_000, 5000] });
    // Pushed with skopeo, pulled with Kiln.
    await skopeoCopy(
      `oci:${image.layoutDir}:${image.tag}`,
      `${registry.host}/random/image:v1`,
      PRESERVE,
    );
    await skopeoCopy(busybox, `${registry.host}/docker/busybox:v2s2`, {
      extraArgs: ['--format=v2s2'],
    });
    client = new RegistryClient({
      insecure: true,
      retries: { retries: 3, baseDelayMs: 10 },
      onEvent: (event) => events.push(event),
    });
  });

  afterAll(async () => {
    await client?.close();
    await proxy?.stop();
    await registry?.stop();
  });

  it('resolves an OCI manifest and its config', async () => {
    const expected = (await skopeoInspect(busybox)) as { Digest: string };
    const resolved = await client.resolveImage(busybox, parsePlatform('linux/amd64'));
    expect(resolved.manifestDescriptor.digest).toBe(expected.Digest);
    expect(resolved.manifestDescriptor.mediaType).toBe(MediaType.OciManifest);
    expect(resolved.reference.digest).toBe(expected.Digest);
    expect(resolved.config.config?.Cmd).toEqual(['sh']);
    expect(sha256(resolved.configBytes)).toBe(resolved.configDescriptor.digest);
  });

  it('warns about a single image of another platform', async () => {
    const before = events.length;
    const resolved = await client.resolveImage(
      `${registry.host}/random/image:v1`,
      parsePlatform('linux/arm64'),
    );
    expect(resolved.config.architecture).toBe('amd64');
    expect(events.slice(before)).toContainEqual({
      type: 'platform-mismatch',
      reference: resolved.reference.toString(),
      requested: 'linux/arm64/v8',
      actual: 'linux/amd64',
    });
  });

  it('reads Docker schema 2 manifests', async () => {
    const result = await client.getManifest(`${registry.host}/docker/busybox:v2s2`);
    expect(result.mediaType).toBe(MediaType.DockerManifest);
    expect(sha256(result.bytes)).toBe(result.descriptor.digest);
    const resolved = await client.resolveImage(
      `${registry.host}/docker/busybox:v2s2`,
      parsePlatform('linux/amd64'),
    );
    expect(resolved.configDescriptor.mediaType).toBe(MediaType.DockerConfig);
  });

  it('selects a platform from an index and names the missing ones', async () => {
    const dir = await makeTempDir('arm');
    const arm = await makeRandomImage(dir, { layerSizes: [1000], architecture: 'arm64' });
    await skopeoCopy(
      `oci:${arm.layoutDir}:${arm.tag}`,
      `${registry.host}/multi/app:arm64`,
      PRESERVE,
    );
    const amd = await client.getManifest(`${registry.host}/random/image:v1`);
    // The index lives in another repository than the amd64 image, so mount that image first.
    await skopeoCopy(`${registry.host}/random/image:v1`, `${registry.host}/multi/app:amd64`);
    const armManifest = await client.getManifest(`${registry.host}/multi/app:arm64`);

    for (const mediaType of [MediaType.OciIndex, MediaType.DockerManifestList]) {
      const index = {
        schemaVersion: 2,
        mediaType,
        manifests: [
          { ...amd.descriptor, platform: { os: 'linux', architecture: 'amd64' } },
          {
            ...armManifest.descriptor,
            platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
          },
        ],
      };
      const tag = mediaType === MediaType.OciIndex ? 'oci-index' : 'docker-list';
      await client.pushManifest(
        `${registry.host}/multi/app:${tag}`,
        Buffer.from(JSON.stringify(index)),
        mediaType,
      );

      const arm64 = await client.resolveImage(
        `${registry.host}/multi/app:${tag}`,
        parsePlatform('linux/arm64'),
      );
      expect(arm64.manifestDescriptor.digest).toBe(armManifest.descriptor.digest);
      expect(arm64.config.architecture).toBe('arm64');
      const amd64 = await client.resolveImage(
        `${registry.host}/multi/app:${tag}`,
        parsePlatform('linux/amd64'),
      );
      expect(amd64.manifestDescriptor.digest).toBe(amd.descriptor.digest);

      const missing = await client
        .resolveImage(`${registry.host}/multi/app:${tag}`, parsePlatform('linux/s390x'))
        .catch((error: unknown) => error);
      expect(missing).toBeInstanceOf(RegistryError);
      expect((missing as RegistryError).code).toBe('PLATFORM_NOT_FOUND');
      expect((missing as RegistryError).message).toContain(
        'has no image for linux/s390x; it has linux/amd64, linux/arm64/v8',
      );
    }
  });

  it('suggests insecure when HTTPS meets a plain HTTP registry', async () => {
    const secure = new RegistryClient({ dockerConfigDir: false, retries: 0 });
    try {
      const error = await secure.getManifest(busybox).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(RegistryError);
      expect((error as RegistryError).code).toBe('TLS_ERROR');
      expect((error as RegistryError).hint).toContain('insecure');
    } finally {
      await secure.close();
    }
  });

  it('raises MANIFEST_UNKNOWN naming the repository', async () => {
    const error = await client
      .getManifest(`${registry.host}/random/image:nope`)
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).code).toBe('MANIFEST_UNKNOWN');
    expect((error as RegistryError).status).toBe(404);
    expect((error as RegistryError).message).toContain(`${registry.host}/random/image`);
  });

  it('streams and downloads verified blobs', async () => {
    const layer = image.layers[0]!;
    const stream = await client.fetchBlob(
      `${registry.host}/random/image:v1`,
      layer.descriptor as Descriptor,
    );
    const content = await readAll(stream);
    expect(stream.verified).toBe(true);
    expect(content.equals(await readFile(layer.path))).toBe(true);

    const dest = join(await makeTempDir('download'), 'layer');
    await client.downloadBlob(
      `${registry.host}/random/image:v1`,
      layer.descriptor as Descriptor,
      dest,
    );
    expect(sha256(await readFile(dest))).toBe(layer.descriptor.digest);
    expect(
      events.some((event) => event.type === 'blob-progress' && event.direction === 'pull'),
    ).toBe(true);
  });

  it('rejects a Docker schema 1 manifest clearly', async () => {
    proxy.addRule({
      path: /\/manifests\/old$/,
      fault: {
        kind: 'status',
        status: 200,
        headers: { 'content-type': 'application/vnd.docker.distribution.manifest.v1+prettyjws' },
        body: JSON.stringify({ schemaVersion: 1, name: 'random/image', tag: 'old', fsLayers: [] }),
      },
    });
    const error = await client
      .getManifest(`${proxy.host}/random/image:old`)
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).code).toBe('UNSUPPORTED_MANIFEST');
    expect((error as RegistryError).message).toContain('schema 1');
  });

  it('takes the media type from the document behind a generic Content-Type', async () => {
    proxy.addRule({
      path: /\/manifests\/generic$/,
      fault: {
        kind: 'status',
        status: 200,
        headers: { 'content-type': 'application/octet-stream' },
        body: Buffer.from(image.manifestBytes).toString('latin1'),
      },
    });
    const result = await client.getManifest(`${proxy.host}/random/image:generic`);
    expect(result.mediaType).toBe(MediaType.OciManifest);
    expect(result.descriptor.digest).toBe(image.manifestDescriptor.digest);
  });

  it('follows a blob redirect to another host', async () => {
    const layer = image.layers[1]!;
    const path = `/v2/random/image/blobs/${layer.descriptor.digest}`;
    proxy.addRule({
      method: 'GET',
      path: new RegExp(`${path}$`),
      fault: { kind: 'status', status: 307, headers: { location: `${registry.url}${path}` } },
    });
    const before = proxy.log.length;
    const content = await readAll(
      await client.fetchBlob(`${proxy.host}/random/image:v1`, layer.descriptor as Descriptor),
    );
    expect(sha256(content)).toBe(layer.descriptor.digest);
    // The second request went to the registry directly, not through the proxy.
    expect(proxy.log.slice(before).filter((entry) => entry.path === path)).toHaveLength(1);
  });

  it('never hands on a corrupt blob as verified', async () => {
    const layer = image.layers[1]!;
    const corrupt = Buffer.alloc(layer.descriptor.size, 7);
    const blobPath = new RegExp(`/blobs/${layer.descriptor.digest}$`);
    proxy.addRule({
      method: 'GET',
      path: blobPath,
      times: 2,
      fault: { kind: 'status', status: 200, body: corrupt.toString('latin1') },
    });

    const stream = await client.fetchBlob(
      `${proxy.host}/random/image:v1`,
      layer.descriptor as Descriptor,
    );
    await expect(readAll(stream)).rejects.toThrow(/digest mismatch/);
    expect(stream.verified).toBe(false);

    const dest = join(await makeTempDir('corrupt'), 'layer');
    await expect(
      client.downloadBlob(`${proxy.host}/random/image:v1`, layer.descriptor as Descriptor, dest),
    ).rejects.toThrow(/digest mismatch/);
    expect(existsSync(dest)).toBe(false);
  });

  it('checks a manifest fetched by digest', async () => {
    const digest = image.manifestDescriptor.digest;
    proxy.addRule({
      path: new RegExp(`/manifests/${digest}$`),
      fault: {
        kind: 'status',
        status: 200,
        headers: { 'content-type': MediaType.OciManifest },
        body: '{"schemaVersion":2}',
      },
    });
    const error = await client
      .getManifest(parseReference(`${proxy.host}/random/image@${digest}`))
      .catch((caught: unknown) => caught);
    expect((error as RegistryError).code).toBe('DIGEST_MISMATCH');
    const good = await client.getManifest(parseReference(`${proxy.host}/random/image@${digest}`));
    expect(good.descriptor.digest).toBe(digest);
  });
});
