import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';

import { RegistryClient } from './client.js';
import type { RegistryEvent } from './events.js';

const MANIFEST = JSON.stringify({
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  config: {
    mediaType: 'application/vnd.oci.image.config.v1+json',
    digest: `sha256:${'0'.repeat(64)}`,
    size: 2,
  },
  layers: [],
});

const servers: Server[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) {
    await new Promise((resolve) => server.close(resolve));
  }
});

/** Binds a loopback port and closes it again, so that nothing listens on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts a registry on `port` that serves one OCI manifest for every manifest request. */
async function startRegistry(port: number): Promise<void> {
  const server = createServer((request, response) => {
    if (request.url?.includes('/manifests/')) {
      response.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
      response.end(MANIFEST);
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end('{}');
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
}

function client(events: RegistryEvent[], onRetry?: () => Promise<void>): RegistryClient {
  return new RegistryClient({
    insecure: true,
    dockerConfigDir: false,
    retries: { retries: 0, baseDelayMs: 20, maxDelayMs: 40 },
    pullRetries: 3,
    onEvent: (event) => {
      events.push(event);
      if (event.type === 'retry' && onRetry) void onRetry();
    },
  });
}

const retries = (events: RegistryEvent[]) => events.filter((event) => event.type === 'retry');

describe('pull retries of refused connections', () => {
  it('retries a closed port pullRetries times', async () => {
    const port = await closedPort();
    const events: RegistryEvent[] = [];
    const registry = client(events);

    await expect(registry.getManifest(`127.0.0.1:${port}/app:1`)).rejects.toMatchObject({
      code: 'NETWORK_ERROR',
    });
    await registry.close();

    expect(retries(events)).toHaveLength(3);
    expect(retries(events)[0]).toMatchObject({ reason: 'network error ECONNREFUSED' });
  });

  it('succeeds once the registry comes up', async () => {
    const port = await closedPort();
    const events: RegistryEvent[] = [];
    let started: Promise<void> | undefined;
    const registry = client(events, async () => {
      started ??= startRegistry(port);
      await started;
    });

    const result = await registry.getManifest(`127.0.0.1:${port}/app:1`);
    await registry.close();

    expect(result.bytes.length).toBe(Buffer.byteLength(MANIFEST));
    expect(retries(events).length).toBeGreaterThanOrEqual(1);
  });
});

/**
 * Starts a registry that responds to the first request (the blob HEAD) with 404 and then stops
 * listening, so that every later connection to its port is refused.
 */
async function startVanishingRegistry(): Promise<number> {
  const server = createServer((request, response) => {
    response.writeHead(404, { connection: 'close' });
    response.end();
    server.close();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

const LAYER = Buffer.from('layer');
const LAYER_DESCRIPTOR = {
  mediaType: 'application/octet-stream',
  digest: `sha256:${createHash('sha256').update(LAYER).digest('hex')}`,
  size: LAYER.length,
};

describe('push retries of refused connections', () => {
  it('bounds blob attempts by pushRetries', async () => {
    const port = await startVanishingRegistry();
    const events: RegistryEvent[] = [];
    const registry = new RegistryClient({
      insecure: true,
      dockerConfigDir: false,
      retries: { retries: 3, baseDelayMs: 1, maxDelayMs: 2 },
      onEvent: (event) => events.push(event),
    });

    const error = await registry
      .pushBlob(`127.0.0.1:${port}/app`, LAYER_DESCRIPTOR, () => Readable.from([LAYER]))
      .catch((caught: unknown) => caught);
    await registry.close();

    expect(error).toMatchObject({ code: 'NETWORK_ERROR' });
    // One POST and three retries, whether the request layer or the upload restart retried.
    expect(retries(events)).toHaveLength(3);
    expect(retries(events).map((event) => event.attempt)).toEqual([1, 2, 3]);
  });

  it('stops retrying once aborted', async () => {
    const port = await startVanishingRegistry();
    const events: RegistryEvent[] = [];
    const controller = new AbortController();
    // The backoff is long, so only the abort can end the wait before the second retry.
    const registry = new RegistryClient({
      insecure: true,
      dockerConfigDir: false,
      retries: { retries: 3, baseDelayMs: 60_000, maxDelayMs: 60_000 },
      onEvent: (event) => {
        events.push(event);
        if (event.type === 'retry') controller.abort();
      },
    });

    const error = await registry
      .pushBlob(`127.0.0.1:${port}/app`, LAYER_DESCRIPTOR, () => Readable.from([LAYER]), {
        signal: controller.signal,
      })
      .catch((caught: unknown) => caught);
    await registry.close();

    expect(error).toMatchObject({ code: 'ABORTED' });
    expect(retries(events)).toHaveLength(1);
  });
});
