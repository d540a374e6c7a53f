import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DownloadStore } from './download-store.js';

const URL_A = 'http://127.0.0.1:1/a.txt';
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-download-store-test-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes `text` to a file and returns its path and hex SHA-256. */
async function contentFile(name: string, text: string): Promise<[string, string]> {
  const file = path.join(dir, name);
  await writeFile(file, text);
  return [file, createHash('sha256').update(text).digest('hex')];
}

describe('DownloadStore', () => {
  it('returns the saved validators and content', async () => {
    const store = new DownloadStore(path.join(dir, 'saved'));
    const [file, digest] = await contentFile('one.txt', 'one\n');
    await store.save(URL_A, file, digest, { etag: '"1"' });

    const stored = await store.open(URL_A);
    expect(stored?.etag).toBe('"1"');
    expect(stored?.lastModified).toBeUndefined();
    expect(await stored?.content.readFile('utf8')).toBe('one\n');
    await stored?.content.close();
    expect(await store.open('http://127.0.0.1:1/other.txt')).toBeUndefined();
  });

  it('keeps an open version readable after a save', async () => {
    const root = path.join(dir, 'replaced');
    const store = new DownloadStore(root);
    const [first, firstDigest] = await contentFile('first.txt', 'first\n');
    const [second, secondDigest] = await contentFile('second.txt', 'second\n');
    await store.save(URL_A, first, firstDigest, { etag: '"1"' });

    const opened = await store.open(URL_A);
    await store.save(URL_A, second, secondDigest, {
      lastModified: 'Wed, 21 Oct 2015 07:28:00 GMT',
    });

    expect(await opened?.content.readFile('utf8')).toBe('first\n');
    await opened?.content.close();
    const [entry] = await readdir(root);
    expect((await readdir(path.join(root, entry as string))).sort()).toEqual(
      [secondDigest, 'record.json'].sort(),
    );
    const latest = await store.open(URL_A);
    expect(latest?.etag).toBeUndefined();
    expect(await latest?.content.readFile('utf8')).toBe('second\n');
    await latest?.content.close();
  });

  it('ignores a damaged record', async () => {
    const root = path.join(dir, 'damaged');
    const store = new DownloadStore(root);
    const [file, digest] = await contentFile('damaged.txt', 'x\n');
    await store.save(URL_A, file, digest, { etag: '"1"' });
    const [entry] = await readdir(root);
    await writeFile(path.join(root, entry as string, 'record.json'), '{"url": 5');

    expect(await store.open(URL_A)).toBeUndefined();
  });

  it('removes a stored download', async () => {
    const store = new DownloadStore(path.join(dir, 'removed'));
    const [file, digest] = await contentFile('removed.txt', 'r\n');
    await store.save(URL_A, file, digest, { etag: '"1"' });
    await store.remove(URL_A);

    expect(await store.open(URL_A)).toBeUndefined();
  });
});
