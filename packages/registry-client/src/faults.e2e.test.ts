import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'undici';
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

function pushInput(image: RandomImage, signal?: AbortSignal): PushImageInput {
  return {
    manifestBytes: image.manifestBytes,
    mediaType: image.manifestDescriptor.mediaType,
    blobs: [image.config, ...image.layers].map((blob) => ({
      descriptor: blob.descriptor,
      open: () => createReadStream(blob.path),
    })),
    signal,
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

  /**
   * Upload sessions of a repository that still hold data or a start time under the storage root.
   * docker-registry 2.8.2 deletes both on a DELETE of the session, but keeps the session's
   * `hashstates` directory until its upload purging runs.
   */
  async function liveSessions(repository: string): Promise<string[]> {
    const dir = join(
      registry.storageDir,
      'docker/registry/v2/repositories',
      repository,
      '_uploads',
    );
    const sessions = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    });
    const live: string[] = [];
    for (const session of sessions) {
      const files = await readdir(join(dir, session));
      if (files.includes('data') || files.includes('startedat')) live.push(session);
    }
    return live;
  }

  /** Returns the status of a GET on each upload session the client sent a PUT, PATCH or DELETE to. */
  async function sessionStatuses(repository: string): Promise<number[]> {
    const statuses: number[] = [];
    for (const path of sessionPaths(repository)) {
      const response = await request(`${registry.url}${path}`);
      await response.body.dump();
      statuses.push(response.statusCode);
    }
    return statuses;
  }

  /** Requests the proxy received for a repository, by method. */
  function requestsTo(repository: string, method: string) {
    return proxy.log.filter(
      (entry) => entry.method === method && entry.path.startsWith(`/v2/${repository}/`),
    );
  }

  /** Lets the first `count` PATCH requests through untouched, so that a later rule hits the next. */
  function passPatches(count: number): void {
    proxy.addRule({ method: 'PATCH', times: count, fault: { kind: 'delay', ms: 0 } });
  }

  /** Paths (without query) of the upload sessions that requests other than POST went to. */
  function sessionPaths(repository: string): string[] {
    const prefix = `/v2/${repository}/blobs/uploads/`;
    const paths = proxy.log
      .filter((entry) => entry.method !== 'POST' && entry.path.startsWith(prefix))
      .map((entry) => entry.path.replace(/\?.*$/, ''));
    return [...new Set(paths)];
  }

  const retriesOf = (method: string) => retries().filter((event) => event.method === method);

  it('deletes the session of a failed push', async () => {
    proxy.addRule({
      method: 'PUT',
      path: /\/blobs\/uploads\//,
      times: 100,
      fault: { kind: 'reset-request', afterBytes: 1000 },
    });
    const error = await newClient({ retries: { retries: 1, baseDelayMs: 5 } })
      .pushImage(`${proxy.host}/sessions/failed:v1`, pushInput(image))
      .catch((caught: unknown) => caught);

    expect(error).toMatchObject({ code: 'NETWORK_ERROR' });
    expect(requestsTo('sessions/failed', 'DELETE').length).toBeGreaterThan(0);
    const statuses = await sessionStatuses('sessions/failed');
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.every((status) => status === 404)).toBe(true);
    expect(await liveSessions('sessions/failed')).toEqual([]);
  });

  it('deletes the session of an aborted push', async () => {
    const controller = new AbortController();
    const client = newClient({ concurrency: 1 });
    const bigLayer = image.layers[0]!.descriptor.digest;
    // Slow the big layer's PUT so that the abort arrives while it is in flight.
    proxy.addRule({
      method: 'PUT',
      path: new RegExp(`/blobs/uploads/.*digest=${encodeURIComponent(bigLayer)}`),
      fault: { kind: 'delay', ms: 2000 },
    });
    const pushing = client
      .pushImage(`${proxy.host}/sessions/aborted:v1`, pushInput(image, controller.signal))
      .catch((caught: unknown) => caught);
    for (let waited = 0; waited < 100; waited++) {
      const puts = requestsTo('sessions/aborted', 'PUT');
      if (puts.some((entry) => entry.path.includes(encodeURIComponent(bigLayer)))) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    controller.abort();
    const error = await pushing;

    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).code).toBe('ABORTED');
    const statuses = await sessionStatuses('sessions/aborted');
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.every((status) => status === 404)).toBe(true);
    expect(await liveSessions('sessions/aborted')).toEqual([]);
    expect(
      requestsTo('sessions/aborted', 'PUT').some((entry) => entry.path.includes('/manifests/')),
    ).toBe(false);
  });

  it('resumes a chunk cut before the registry stored it', async () => {
    // With one transfer at a time the config goes first, then the big layer in 512 KiB chunks:
    // the cut hits the big layer's second chunk, at offset 524288.
    passPatches(2);
    proxy.addRule({
      method: 'PATCH',
      path: /\/blobs\/uploads\//,
      fault: { kind: 'reset-request', afterBytes: 1000 },
    });
    const client = newClient({ chunkSize: 512 * 1024, concurrency: 1 });
    const result = await client.pushImage(`${proxy.host}/sessions/resumed:v1`, pushInput(image));

    expect(result.digest).toBe(image.manifestDescriptor.digest);
    expect(retriesOf('resume')).toHaveLength(1);
    expect(retriesOf('upload')).toHaveLength(0);
    expect(requestsTo('sessions/resumed', 'POST')).toHaveLength(image.layers.length + 1);
    expect(await liveSessions('sessions/resumed')).toEqual([]);
    await skopeoCopy(
      `${registry.host}/sessions/resumed:v1`,
      `oci:${await makeTempDir('resumed-copy')}:v1`,
    );
  });

  it('recovers from a chunk cut mid-body', async () => {
    // How much of the cut body reaches the registry varies between runs, because the proxy drops
    // what it has not flushed. When docker-registry 2.8.2 stored none of it, the chunk resumes.
    // When it stored part, it rejects the session (its size no longer matches the state token)
    // and the upload restarts.
    passPatches(2);
    proxy.addRule({
      method: 'PATCH',
      path: /\/blobs\/uploads\//,
      fault: { kind: 'reset-request', afterBytes: 300_000 },
    });
    const client = newClient({ chunkSize: 512 * 1024, concurrency: 1 });
    const result = await client.pushImage(`${proxy.host}/sessions/recovered:v1`, pushInput(image));

    expect(result.digest).toBe(image.manifestDescriptor.digest);
    const restarted = retriesOf('upload').length;
    expect(retriesOf('resume').length + restarted).toBe(1);
    const statuses = await sessionStatuses('sessions/recovered');
    expect(statuses.every((status) => status === 404)).toBe(true);
    // A rejected session keeps its data, because the registry rejects its DELETE as well.
    const cut = requestsTo('sessions/recovered', 'PATCH').find(
      (entry) => entry.fault === 'reset-request',
    );
    const cutSession = /\/uploads\/([^/?]+)/.exec(cut?.path ?? '')?.[1];
    expect(await liveSessions('sessions/recovered')).toEqual(restarted === 1 ? [cutSession] : []);
    await skopeoCopy(
      `${registry.host}/sessions/recovered:v1`,
      `oci:${await makeTempDir('recovered-copy')}:v1`,
    );
  });

  it('bounds upload attempts by the retry count', async () => {
    proxy.addRule({
      method: 'POST',
      path: /\/blobs\/uploads\/$/,
      times: 100,
      fault: { kind: 'reset' },
    });
    const fresh = await makeRandomImage(await makeTempDir('bounded'), { layerSizes: [1000] });
    const error = await newClient({ concurrency: 1, retries: { retries: 3, baseDelayMs: 1 } })
      .pushBlob(`${proxy.host}/sessions/bounded`, fresh.layers[0]!.descriptor, () =>
        createReadStream(fresh.layers[0]!.path),
      )
      .catch((caught: unknown) => caught);

    expect(error).toMatchObject({ code: 'NETWORK_ERROR' });
    // One POST and three retries. Without a shared count, 4 restarts of 4 POST attempts each make 16.
    expect(requestsTo('sessions/bounded', 'POST')).toHaveLength(4);
  });
});
