import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { parsePlatform } from '@kiln/oci-spec';
import { findFreePort, pushBusybox, startRegistry } from '@kiln/testkit';
import type { TestRegistry } from '@kiln/testkit';

import { RegistryClient } from './client.js';
import type { RegistryClientOptions } from './options.js';
import { RegistryError } from './errors.js';
import type { RegistryEvent } from './events.js';

describe('mirrors and registry maps', () => {
  let registry: TestRegistry;
  let deadHost: string;
  const clients: RegistryClient[] = [];

  beforeAll(async () => {
    registry = await startRegistry();
    await pushBusybox(registry);
    // A port nothing listens on stands for a mirror that is down.
    deadHost = `127.0.0.1:${await findFreePort()}`;
  });

  afterAll(async () => {
    for (const client of clients) await client.close();
    await registry?.stop();
  });

  function newClient(options: RegistryClientOptions): RegistryClient {
    const client = new RegistryClient({
      insecure: true,
      dockerConfigDir: false,
      retries: { retries: 1, baseDelayMs: 5 },
      ...options,
    });
    clients.push(client);
    return client;
  }

  it('pulls docker.io images from a mapped registry', async () => {
    // No fallback, so nothing is sent to Docker Hub.
    const client = newClient({
      registryMap: { 'index.docker.io': [registry.host] },
      skipDefaultRegistryFallback: true,
    });
    const image = await client.resolveImage('busybox', parsePlatform('linux/amd64'));
    expect(image.reference.registry).toBe('docker.io');
    expect(image.reference.repository).toBe('library/busybox');
    expect(image.config.config?.Cmd).toEqual(['sh']);
    const layer = image.manifest.layers[0]!;
    const stream = await client.fetchBlob(image.reference, layer);
    for await (const _chunk of stream) {
      // Read to the end so that the digest is checked.
    }
    expect(stream.verified).toBe(true);
  });

  it('uses registryMirrors for docker.io', async () => {
    const client = newClient({
      registryMirrors: [registry.host],
      skipDefaultRegistryFallback: true,
    });
    const manifest = await client.getManifest('docker.io/library/busybox:latest');
    expect(manifest.descriptor.size).toBeGreaterThan(0);
  });

  it('falls back from a dead mapped host to the registry itself', async () => {
    const events: RegistryEvent[] = [];
    const client = newClient({
      registryMap: { [registry.host]: [deadHost] },
      onEvent: (event) => events.push(event),
    });
    const manifest = await client.getManifest(`${registry.host}/library/busybox:latest`);
    expect(manifest.descriptor.size).toBeGreaterThan(0);
    const fallback = events.find((event) => event.type === 'fallback');
    expect(fallback).toMatchObject({ type: 'fallback', from: deadHost, to: registry.host });
  });

  it('fails without fallback when told so', async () => {
    const client = newClient({
      registryMap: { [registry.host]: [deadHost] },
      skipDefaultRegistryFallback: true,
    });
    const error = await client
      .getManifest(`${registry.host}/library/busybox:latest`)
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).code).toBe('NETWORK_ERROR');
    expect((error as RegistryError).registry).toBe(deadHost);
  });

  it('falls back when the mirror lacks the image', async () => {
    const empty = await startRegistry();
    try {
      const client = newClient({ registryMap: { [registry.host]: [empty.host] } });
      const manifest = await client.getManifest(`${registry.host}/library/busybox:latest`);
      expect(manifest.descriptor.size).toBeGreaterThan(0);
    } finally {
      await empty.stop();
    }
  });

  it('reports the mapped registry answer before a dead fallback', async () => {
    // The mapped host answers MANIFEST_UNKNOWN; the registry itself (the fallback) refuses connections.
    const client = newClient({ registryMap: { [deadHost]: [registry.host] } });
    const error = await client
      .getManifest(`${deadHost}/library/missing:latest`)
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).code).toBe('MANIFEST_UNKNOWN');
    expect((error as RegistryError).registry).toBe(registry.host);
    expect((error as RegistryError).hint).toMatch(/tag or digest/);
    expect((error as RegistryError).message).toMatch(
      new RegExp(
        `^GET manifest latest on ${registry.host}/library/missing failed: MANIFEST_UNKNOWN`,
      ),
    );
    expect((error as RegistryError).message).toContain(`also failed: ${deadHost}:`);
  });

  it('reports the fallback answer before a dead mapped host', async () => {
    const client = newClient({ registryMap: { [registry.host]: [deadHost] } });
    const error = await client
      .getManifest(`${registry.host}/library/missing:latest`)
      .catch((caught: unknown) => caught);
    expect((error as RegistryError).code).toBe('MANIFEST_UNKNOWN');
    expect((error as RegistryError).registry).toBe(registry.host);
    expect((error as RegistryError).message).toContain(`also failed: ${deadHost}:`);
  });

  it('maps with a path prefix', async () => {
    const client = newClient({
      registryMap: { 'docker.io': [`${registry.host}/library`] },
      skipDefaultRegistryFallback: true,
    });
    // docker.io/busybox maps to library/busybox, and the prefix makes it library/library/busybox, which does not exist.
    const error = await client.getManifest('busybox').catch((caught: unknown) => caught);
    expect((error as RegistryError).repository).toBe('library/library/busybox');
  });
});
