import { Readable } from 'node:stream';
import { MediaType, sha256Digest } from '@kiln/oci-spec';
import { startFaultProxy, type FaultProxy } from '@kiln/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HttpCacheStore } from './http-store.js';
import { startWebDavServer, type WebDavServer } from './testing/nginx-webdav.js';

// A fault-injecting proxy sits between the store and nginx, so each test can fail chosen requests.
let server: WebDavServer;
let proxy: FaultProxy;
let prefixCount = 0;

beforeAll(async () => {
  server = await startWebDavServer();
  proxy = await startFaultProxy(server.url);
});

afterAll(async () => {
  await proxy?.stop();
  await server?.stop();
});

afterEach(() => {
  proxy.clearRules();
});

const layer = { mediaType: MediaType.OciLayerGzip };

function storeBehindProxy(options: { retries?: number } = {}) {
  const prefix = `retry-${++prefixCount}`;
  return { store: new HttpCacheStore(`${proxy.url}/${prefix}`, options), prefix };
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

describe('HttpCacheStore retries', () => {
  it('uploads again after a 503', async () => {
    const { store, prefix } = storeBehindProxy();
    proxy.addRule({
      method: 'PUT',
      path: new RegExp(`^/${prefix}/cas/`),
      fault: { kind: 'status', status: 503 },
    });
    const bytes = Buffer.alloc(20_000, 3);
    await store.put('key-503', { stream: Readable.from([bytes]) }, layer);

    const blobPuts = proxy.log.filter(
      (entry) => entry.method === 'PUT' && entry.path.startsWith(`/${prefix}/cas/`),
    );
    expect(blobPuts.map((entry) => entry.status)).toEqual([503, 201]);
    const hit = await store.get('key-503');
    expect(hit.status).toBe('hit');
    if (hit.status === 'hit')
      expect(sha256Digest(await readAll(await hit.open()))).toBe(sha256Digest(bytes));
    await store.close();
  });

  it('sends the whole blob again after a cut upload', async () => {
    const { store, prefix } = storeBehindProxy();
    proxy.addRule({
      method: 'PUT',
      path: new RegExp(`^/${prefix}/cas/`),
      fault: { kind: 'reset-request', afterBytes: 30_000 },
    });
    const bytes = Buffer.alloc(200_000, 5);
    await store.put('key-cut', { stream: Readable.from([bytes]) }, layer);

    const blobPuts = proxy.log.filter(
      (entry) => entry.method === 'PUT' && entry.path.startsWith(`/${prefix}/cas/`),
    );
    expect(blobPuts.map((entry) => entry.status)).toEqual([undefined, 201]);
    const lookup = await store.get('key-cut');
    expect(lookup.status).toBe('hit');
    await store.close();
  });

  it('reads a record after a dropped connection', async () => {
    const { store, prefix } = storeBehindProxy();
    await store.put('key-reset', { stream: Readable.from([Buffer.from('x')]) }, layer);
    proxy.addRule({ method: 'GET', path: new RegExp(`^/${prefix}/ac/`), fault: { kind: 'reset' } });
    expect((await store.get('key-reset')).status).toBe('hit');
    const recordGets = proxy.log.filter(
      (entry) => entry.method === 'GET' && entry.path.startsWith(`/${prefix}/ac/`),
    );
    expect(recordGets.map((entry) => entry.fault)).toEqual(['reset', undefined]);
    await store.close();
  });

  it('fails with the status when retries run out', async () => {
    const { store, prefix } = storeBehindProxy({ retries: 1 });
    proxy.addRule({
      method: 'GET',
      path: new RegExp(`^/${prefix}/ac/`),
      times: 2,
      fault: { kind: 'status', status: 502 },
    });
    await expect(store.get('key-down')).rejects.toMatchObject({
      code: 'STORE_FAILED',
      message: expect.stringContaining('returned status 502'),
    });
    await store.close();
  });
});
