import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import {
  makeRandomImage,
  makeTempDir,
  skopeoCopy,
  startFaultProxy,
  startRegistry,
} from '@kiln/testkit';
import type { FaultProxy, RandomImage, TestRegistry } from '@kiln/testkit';

import { RegistryClient } from './client.js';
import type { PushImageInput } from './client.js';
import type { RegistryClientOptions } from './options.js';
import { RegistryError } from './errors.js';
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

describe('faults between client and registry', () => {
  let registry: TestRegistry;
  let proxy: FaultProxy;
  let image: RandomImage;
  let events: RegistryEvent[];
  const clients: RegistryClient[] = [];

  beforeAll(async () => {
    registry = await startRegistry();
    proxy = await startFaultProxy(registry.url);
    image = await makeRandomImage(await makeTempDir('faults'), {
      layerSizes: [2 * 1024 * 1024, 40_000],
    });
    await new RegistryClient({ insecure: true }).pushImage(
      `${registry.host}/faults/base:v1`,
      pushInput(image),
    );
  });

  beforeEach(() => {
    events = [];
    proxy.clearRules();
  });

  afterAll(async () => {
    for (const client of clients) await client.close();
    await proxy?.stop();
    await registry?.stop();
  });

  function newClient(options: RegistryClientOptions = {}): RegistryClient {
    const client = new RegistryClient({
      insecure: true,
      dockerConfigDir: false,
      retries: { retries: 3, baseDelayMs: 10 },
      onEvent: (event) => events.push(event),
      ...options,
    });
    clients.push(client);
    return client;
  }

  const retries = (): Array<Extract<RegistryEvent, { type: 'retry' }>> =>
    events.filter(
      (event): event is Extract<RegistryEvent, { type: 'retry' }> => event.type === 'retry',
    );

  it('reuses connections across requests', async () => {
    const client = newClient();
    const before = proxy.connections;
    for (let round = 0; round < 20; round++)
      await client.getManifest(`${proxy.host}/faults/base:v1`);
    // undici's pool keeps connections alive, so 20 sequential requests do not open 20 of them.
    expect(proxy.connections - before).toBeLessThanOrEqual(2);
  });

  it('retries a 500', async () => {
    proxy.addRule({
      method: 'GET',
      path: /\/manifests\/v1$/,
      fault: { kind: 'status', status: 500 },
    });
    const manifest = await newClient().getManifest(`${proxy.host}/faults/base:v1`);
    expect(manifest.descriptor.digest).toBe(image.manifestDescriptor.digest);
    expect(retries().map((event) => event.reason)).toEqual(['HTTP 500']);
  });

  it('honours Retry-After on 429', async () => {
    proxy.addRule({
      path: /\/manifests\/v1$/,
      fault: { kind: 'status', status: 429, headers: { 'retry-after': '1' } },
    });
    await newClient().getManifest(`${proxy.host}/faults/base:v1`);
    expect(retries()).toHaveLength(1);
    expect(retries()[0]!.delayMs).toBe(1000);
    expect(retries()[0]!.reason).toBe('HTTP 429');
  });

  it('resumes a download cut midway', async () => {
    const layer = image.layers[0]!;
    proxy.addRule({
      method: 'GET',
      path: new RegExp(`/blobs/${layer.descriptor.digest}$`),
      fault: { kind: 'reset-response', afterBytes: 700_000 },
    });
    const dest = join(await makeTempDir('resume'), 'layer');
    await newClient().downloadBlob(`${proxy.host}/faults/base:v1`, layer.descriptor, dest);
    const content = await readFile(dest);
    expect(`sha256:${createHash('sha256').update(content).digest('hex')}`).toBe(
      layer.descriptor.digest,
    );
    expect(retries().some((event) => event.reason.startsWith('download cut after'))).toBe(true);
    const gets = proxy.log.filter(
      (entry) => entry.method === 'GET' && entry.path.endsWith(layer.descriptor.digest),
    );
    expect(gets.length).toBeGreaterThanOrEqual(2);
  });

  it('restarts an upload cut midway and completes the push', async () => {
    const bigLayer = encodeURIComponent(image.layers[0]!.descriptor.digest);
    proxy.addRule({
      method: 'PUT',
      path: new RegExp(`/blobs/uploads/.*digest=${bigLayer}`),
      fault: { kind: 'reset-request', afterBytes: 300_000 },
    });
    const result = await newClient().pushImage(`${proxy.host}/faults/cut:v1`, pushInput(image));
    expect(result.digest).toBe(image.manifestDescriptor.digest);
    expect(retries().filter((event) => event.method === 'upload')).toHaveLength(1);
    await skopeoCopy(`${registry.host}/faults/cut:v1`, `oci:${await makeTempDir('cut-copy')}:v1`);
  });

  it('fails clearly and puts no manifest when uploads keep failing', async () => {
    proxy.addRule({
      method: 'PUT',
      path: /\/blobs\/uploads\//,
      times: 100,
      fault: { kind: 'reset-request', afterBytes: 1000 },
    });
    const error = await newClient({ retries: { retries: 2, baseDelayMs: 5 } })
      .pushImage(`${proxy.host}/faults/broken:v1`, pushInput(image))
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).code).toBe('NETWORK_ERROR');
    expect((error as RegistryError).repository).toBe('faults/broken');
    expect((error as RegistryError).message).toMatch(
      /upload of blob sha256:[0-9a-f]{64} on 127\.0\.0\.1:\d+\/faults\/broken failed/,
    );
    expect(
      proxy.log.some(
        (entry) => entry.method === 'PUT' && entry.path.startsWith('/v2/faults/broken/manifests/'),
      ),
    ).toBe(false);

    const missing = await newClient()
      .getManifest(`${registry.host}/faults/broken:v1`)
      .catch((caught: unknown) => caught);
    expect(['MANIFEST_UNKNOWN', 'NAME_UNKNOWN']).toContain((missing as RegistryError).code);
  });

  it('retries 503s on blob upload requests', async () => {
    proxy.addRule({
      method: 'POST',
      path: /\/blobs\/uploads\/$/,
      times: 2,
      fault: { kind: 'status', status: 503 },
    });
    const fresh = await makeRandomImage(await makeTempDir('fresh'), { layerSizes: [1000] });
    await newClient({ concurrency: 1 }).pushImage(`${proxy.host}/faults/busy:v1`, pushInput(fresh));
    expect(retries().filter((event) => event.reason === 'HTTP 503')).toHaveLength(2);
  });

  it('tolerates slow responses', async () => {
    proxy.addRule({ path: /\/blobs\//, times: 3, fault: { kind: 'delay', ms: 300 } });
    const layer = image.layers[1]!;
    const dest = join(await makeTempDir('slow'), 'layer');
    await newClient().downloadBlob(`${proxy.host}/faults/base:v1`, layer.descriptor, dest);
    expect((await readFile(dest)).length).toBe(layer.descriptor.size);
  });

  it('times out when headers never come', async () => {
    proxy.addRule({ path: /\/manifests\/v1$/, times: 5, fault: { kind: 'delay', ms: 2000 } });
    const error = await newClient({ timeoutMs: 200, retries: { retries: 1, baseDelayMs: 5 } })
      .getManifest(`${proxy.host}/faults/base:v1`)
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).code).toBe('TIMEOUT');
    expect((error as RegistryError).message).toContain('timed out');
  });

  it('names the repository when the manifest put fails', async () => {
    proxy.addRule({
      method: 'PUT',
      path: /\/manifests\//,
      times: 10,
      fault: {
        kind: 'status',
        status: 500,
        body: '{"errors":[{"code":"UNKNOWN","message":"storage down"}]}',
      },
    });
    const error = await newClient({ retries: { retries: 1, baseDelayMs: 5 } })
      .pushImage(`${proxy.host}/faults/base:v2`, pushInput(image))
      .catch((caught: unknown) => caught);
    expect((error as RegistryError).status).toBe(500);
    expect((error as RegistryError).message).toBe(
      `PUT manifest v2 on ${proxy.host}/faults/base failed: UNKNOWN: storage down`,
    );
  });
});
