import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { CacheError } from '@kiln/cache';
import { MediaType, sha256Digest } from '@kiln/oci-spec';
import { findFreePort } from '@kiln/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpCacheStore } from './http-store.js';
import { httpCachePlugin, storeOptionsFrom } from './plugin.js';
import { startWebDavServer, type WebDavServer } from './testing/nginx-webdav.js';
import { parseCacheLocation } from './transport.js';

let server: WebDavServer;
let prefixCount = 0;

beforeAll(async () => {
  server = await startWebDavServer();
});

afterAll(async () => {
  await server?.stop();
});

const layer = { mediaType: MediaType.OciLayerGzip };

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

// Opens a store on a fresh prefix and returns it with the prefix, for reading nginx's files and log.
function freshStore(options: ConstructorParameters<typeof HttpCacheStore>[1] = {}) {
  const prefix = `store-${++prefixCount}`;
  const store = new HttpCacheStore(`${server.url}/${prefix}`, options);
  return { store, prefix };
}

async function requestsUnder(prefix: string): Promise<string[]> {
  return (await server.requests()).filter((line) => line.split(' ')[1]?.startsWith(`/${prefix}/`));
}

describe('HttpCacheStore layout', () => {
  it('writes blobs under cas and records under ac', async () => {
    const { store, prefix } = freshStore();
    const bytes = Buffer.from('layer bytes');
    const record = await store.put('key-layout', { stream: Readable.from([bytes]) }, layer);
    await store.close();

    const hex = sha256Digest(bytes).slice('sha256:'.length);
    expect(await readdir(join(server.root, prefix, 'cas', 'sha256'))).toEqual([hex]);
    const keyHex = sha256Digest('key-layout').slice('sha256:'.length);
    expect(await readdir(join(server.root, prefix, 'ac'))).toEqual([keyHex]);
    expect(store.blobPath(record.descriptor.digest)).toBe(`/cas/sha256/${hex}`);
    expect(store.recordPath('key-layout')).toBe(`/ac/${keyHex}`);
  });

  it('uploads a blob it already has once', async () => {
    const { store, prefix } = freshStore();
    const bytes = Buffer.alloc(50_000, 7);
    await store.put('key-one', { stream: Readable.from([bytes]) }, layer);
    await store.put('key-two', { stream: Readable.from([bytes]) }, layer);
    await store.close();

    const blobPath = `/${prefix}/cas/sha256/${sha256Digest(bytes).slice('sha256:'.length)}`;
    const blobRequests = (await requestsUnder(prefix)).filter((line) => line.includes(blobPath));
    expect(blobRequests.filter((line) => line.startsWith('PUT '))).toEqual([`PUT ${blobPath} 201`]);
    expect(blobRequests.filter((line) => line.startsWith('HEAD '))).toEqual([
      `HEAD ${blobPath} 404`,
      `HEAD ${blobPath} 200`,
    ]);
  });

  it('hashes a blob once per process while its ETag holds', async () => {
    const { store, prefix } = freshStore();
    const record = await store.put(
      'key-etag',
      { stream: Readable.from([Buffer.alloc(10_000, 1)]) },
      layer,
    );
    expect((await store.get('key-etag')).status).toBe('hit');
    expect((await store.get('key-etag')).status).toBe('hit');
    await store.close();

    const blobPath = `/${prefix}${store.blobPath(record.descriptor.digest)}`;
    const gets = (await requestsUnder(prefix)).filter((line) =>
      line.startsWith(`GET ${blobPath} `),
    );
    expect(gets).toEqual([`GET ${blobPath} 200`, `GET ${blobPath} 304`]);
  });

  it('checks only the size with verify=size', async () => {
    const { store, prefix } = freshStore({ verify: 'size' });
    const record = await store.put(
      'key-size',
      { stream: Readable.from([Buffer.alloc(100, 2)]) },
      layer,
    );
    expect((await store.get('key-size')).status).toBe('hit');
    await store.close();

    const blobPath = `/${prefix}${store.blobPath(record.descriptor.digest)}`;
    const blobReads = (await requestsUnder(prefix)).filter(
      (line) => line.includes(blobPath) && !line.startsWith('PUT '),
    );
    expect(blobReads).toEqual([`HEAD ${blobPath} 404`, `HEAD ${blobPath} 200`]);
  });
});

describe('HttpCacheStore damaged records', () => {
  it.each([
    ['not JSON', '{'],
    ['larger than 1 MiB', ' '.repeat((1 << 20) + 1)],
    ['another key', JSON.stringify({ formatVersion: 1, key: 'other' })],
    ['another format version', JSON.stringify({ formatVersion: 2, key: 'key-bad' })],
    [
      'a bad descriptor',
      JSON.stringify({
        formatVersion: 1,
        key: 'key-bad',
        descriptor: { digest: 'x' },
        createdAt: '2026-01-01T00:00:00Z',
      }),
    ],
  ])('reads a record that is %s as corrupt once', async (_case, text) => {
    const { store, prefix } = freshStore();
    const directory = join(server.root, prefix, 'ac');
    await mkdir(directory, { recursive: true });
    await writeFile(join(server.root, prefix, store.recordPath('key-bad')), text);

    const lookup = await store.get('key-bad');
    expect(lookup.status).toBe('corrupt');
    if (lookup.status === 'corrupt') {
      expect(lookup.corruption).toBe('record-invalid');
      expect(lookup.message).toContain('key-bad');
    }
    expect(await store.get('key-bad')).toEqual({ status: 'miss' });
    await store.close();
  });
});

describe('HttpCacheStore failures', () => {
  it('names the URL and status of a rejected write', async () => {
    const store = new HttpCacheStore(`${server.url}/read-only/cache`);
    const put = store.put('key-denied', { stream: Readable.from([Buffer.from('x')]) }, layer);
    await expect(put).rejects.toBeInstanceOf(CacheError);
    await expect(put).rejects.toMatchObject({
      code: 'STORE_FAILED',
      message: expect.stringMatching(
        /PUT http:\/\/127\.0\.0\.1:\d+\/read-only\/cache\/cas\/sha256\/\w+ returned status 403/,
      ),
    });
    await store.close();
  });

  it('keeps credentials out of names and errors', async () => {
    const port = await findFreePort();
    const store = new HttpCacheStore(`http://builder:s3cret-pass@127.0.0.1:${port}/cache`);
    expect(store.name).toBe(`http:http://127.0.0.1:${port}/cache`);
    const error = await store.get('key').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CacheError);
    expect((error as CacheError).code).toBe('STORE_FAILED');
    expect((error as CacheError).message).toContain(`127.0.0.1:${port}/cache/ac/`);
    expect(JSON.stringify(error)).not.toContain('s3cret');
    expect((error as CacheError).message).not.toContain('s3cret');
    await store.close();
  });

  it('rejects a location that is not HTTP', () => {
    expect(() => new HttpCacheStore('ftp://user:pw@example.invalid/cache')).toThrow(
      /invalid HTTP cache location ftp:\/\/example\.invalid\/cache: the scheme ftp: is not http: or https:/,
    );
  });

  it('fails on a blob removed between get and open', async () => {
    const { store, prefix } = freshStore();
    await store.put('key-gone', { stream: Readable.from([Buffer.from('gone')]) }, layer);
    const hit = await store.get('key-gone');
    if (hit.status !== 'hit') throw new Error(`expected a hit, got ${hit.status}`);

    // Removing the blob on the server simulates another client pruning it.
    await rm(join(server.root, prefix, 'cas'), { recursive: true });
    await expect(hit.open().then(readAll)).rejects.toMatchObject({ code: 'STORE_FAILED' });
    await store.close();
  });
});

describe('parseCacheLocation', () => {
  it('moves user information into a basic authorization header', () => {
    const location = parseCacheLocation('https://ci%40corp:p%3Ass@cache.example:8443/kiln/');
    expect(location).toEqual({
      origin: 'https://cache.example:8443',
      basePath: '/kiln',
      authorization: `Basic ${Buffer.from('ci@corp:p:ss').toString('base64')}`,
    });
  });

  it('keeps an empty base path for the server root', () => {
    expect(parseCacheLocation('http://127.0.0.1:8080')).toEqual({
      origin: 'http://127.0.0.1:8080',
      basePath: '',
    });
  });
});

describe('http-cache plugin', () => {
  it('serves http and https locations', () => {
    expect(httpCachePlugin.cacheStores.map((factory) => factory.scheme)).toEqual(['http', 'https']);
    expect(httpCachePlugin.apiVersion).toBe('^1.0.0');
  });

  it('parses store options', () => {
    expect(
      storeOptionsFrom({
        verify: 'size',
        connections: '4',
        spoolDirectory: '/var/tmp',
        retries: '0',
      }),
    ).toEqual({
      verify: 'size',
      connections: 4,
      spoolDirectory: '/var/tmp',
      retries: 0,
    });
  });

  it.each([
    [{ verify: 'sometimes' }, /invalid HTTP cache option verify=sometimes/],
    [{ connections: '0' }, /invalid HTTP cache option connections=0/],
    [{ retries: '-1' }, /invalid HTTP cache option retries=-1/],
  ])('rejects option %o', (options, message) => {
    expect(() => storeOptionsFrom(options)).toThrow(message);
  });
});
