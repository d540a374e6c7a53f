import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../build.js';

const exec = promisify(execFile);
const BODY = 'downloaded content\n';
const LAST_MODIFIED = 'Wed, 21 Oct 2015 07:28:00 GMT';
let dir: string;
let server: Server;
let base: string;
let count = 0;
let changing = 'first version\n';
let changingRequests = 0;
/** Version the revalidated files serve: an ETag and a body. */
let validated = { etag: '"v1"', body: 'validated one\n' };
let fullResponses = 0;
let notModified = 0;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-add-url-test-'));
  server = createServer((request, response) => {
    if (request.url === '/files/changing.txt') {
      changingRequests += 1;
      response.writeHead(200);
      response.end(changing);
    } else if (request.url === '/files/validated.txt') {
      if (request.headers['if-none-match'] === validated.etag) {
        notModified += 1;
        response.writeHead(304, { etag: validated.etag });
        response.end();
        return;
      }
      fullResponses += 1;
      response.writeHead(200, { etag: validated.etag });
      response.end(validated.body);
    } else if (request.url === '/files/dated.txt') {
      if (request.headers['if-modified-since'] === LAST_MODIFIED) {
        notModified += 1;
        response.writeHead(304);
        response.end();
        return;
      }
      fullResponses += 1;
      response.writeHead(200, { 'last-modified': LAST_MODIFIED });
      response.end(BODY);
    } else if (request.url === '/files/data.txt') {
      response.writeHead(200, { 'last-modified': LAST_MODIFIED });
      response.end(BODY);
    } else {
      response.writeHead(404);
      response.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

/** Builds `FROM scratch` plus `line` into a new layout; returns the result and the last layer's blob path. */
async function buildLine(
  line: string,
  cache?: { enabled: true; dir: string },
): Promise<{ result: Awaited<ReturnType<typeof build>>; blob: string }> {
  count += 1;
  const context = path.join(dir, `context-${count}`);
  await mkdir(context, { recursive: true });
  await writeFile(path.join(context, 'Dockerfile'), `FROM scratch\n${line}\n`);
  const layout = `${context}-layout`;
  const result = await build({
    context,
    noPush: true,
    ociLayoutPath: layout,
    workDir: path.join(dir, 'work'),
    ...(cache === undefined ? {} : { cache }),
  });
  const digest = result.manifest.layers.at(-1)?.digest.slice(7) as string;
  return { result, blob: path.join(layout, 'blobs/sha256', digest) };
}

/** Builds `ADD` with the layer cache in `cacheDir` and returns the step's cache status and the file. */
async function buildCached(line: string, cacheDir: string, file = 'changing.txt') {
  const { result, blob } = await buildLine(line, { enabled: true, dir: cacheDir });
  const { stdout } = await exec('tar', ['-xzOf', blob, file]);
  return { status: result.cache?.steps.map((step) => step.status), content: stdout };
}

async function buildAdd(line: string): Promise<string[]> {
  const { blob } = await buildLine(line);
  const { stdout } = await exec('tar', ['--full-time', '-tvzf', blob], {
    env: { ...process.env, TZ: 'UTC' },
  });
  return stdout
    .trim()
    .split('\n')
    .filter((l) => !l.endsWith('/'))
    .map((l) => {
      const p = l.split(/\s+/);
      return `${p[0]} ${p[2]} ${p[3]} ${p[4]} ${p.slice(5).join(' ')}`;
    });
}

describe('ADD URL', () => {
  it('downloads into a directory with mode 0600 and the Last-Modified time', async () => {
    const listing = await buildAdd(`ADD ${base}/files/data.txt /downloads/`);
    expect(listing).toEqual([`-rw------- ${BODY.length} 2015-10-21 07:28:00 downloads/data.txt`]);
  });

  it('checks --checksum and names the file by the destination', async () => {
    const sum = `sha256:${createHash('sha256').update(BODY).digest('hex')}`;
    const listing = await buildAdd(`ADD --checksum=${sum} ${base}/files/data.txt /data`);
    expect(listing[0]).toMatch(/ data$/);
    await expect(
      buildAdd(`ADD --checksum=sha256:${'0'.repeat(64)} ${base}/files/data.txt /data`),
    ).rejects.toMatchObject({ code: 'ADD_CHECKSUM_MISMATCH' });
  });

  it('fails with the status for a missing file', async () => {
    await expect(buildAdd(`ADD ${base}/missing /x`)).rejects.toMatchObject({
      code: 'ADD_DOWNLOAD_FAILED',
      message: expect.stringContaining('HTTP 404'),
    });
  });

  it('keys the layer cache by the served content', async () => {
    const cacheDir = path.join(dir, 'layer-cache');
    const line = `ADD ${base}/files/changing.txt /`;
    changingRequests = 0;

    expect(await buildCached(line, cacheDir)).toEqual({
      status: ['miss'],
      content: 'first version\n',
    });
    expect(await buildCached(line, cacheDir)).toEqual({
      status: ['hit'],
      content: 'first version\n',
    });
    // One download per build serves both the cache key and the copy.
    expect(changingRequests).toBe(2);

    changing = 'second version\n';
    expect(await buildCached(line, cacheDir)).toEqual({
      status: ['miss'],
      content: 'second version\n',
    });
  });

  it('revalidates a stored download by its ETag', async () => {
    const cacheDir = path.join(dir, 'etag-cache');
    const line = `ADD ${base}/files/validated.txt /`;
    fullResponses = 0;
    notModified = 0;

    expect(await buildCached(line, cacheDir, 'validated.txt')).toEqual({
      status: ['miss'],
      content: 'validated one\n',
    });
    expect(fullResponses).toBe(1);

    // The next build sends If-None-Match, gets 304 and keys the cache by the stored content.
    expect(await buildCached(line, cacheDir, 'validated.txt')).toEqual({
      status: ['hit'],
      content: 'validated one\n',
    });
    expect(fullResponses).toBe(1);
    expect(notModified).toBe(1);

    validated = { etag: '"v2"', body: 'validated two\n' };
    expect(await buildCached(line, cacheDir, 'validated.txt')).toEqual({
      status: ['miss'],
      content: 'validated two\n',
    });
    expect(fullResponses).toBe(2);
    expect(notModified).toBe(1);
  });

  it('revalidates a stored download by Last-Modified', async () => {
    const cacheDir = path.join(dir, 'dated-cache');
    const line = `ADD ${base}/files/dated.txt /`;
    fullResponses = 0;
    notModified = 0;

    await buildCached(line, cacheDir, 'dated.txt');
    const second = await buildCached(line, cacheDir, 'dated.txt');

    expect(second).toEqual({ status: ['hit'], content: BODY });
    expect(fullResponses).toBe(1);
    expect(notModified).toBe(1);
  });
});
