import { createWriteStream } from 'node:fs';
import { lstat, mkdir, mkdtemp, utimes } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { createDigestStream } from '@kiln/oci-spec';
import type { ContextEntry } from '../context/build-context.js';
import { EngineError } from '../errors.js';

/** Tells whether an ADD source is a URL that ADD downloads. */
export function isUrlSource(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

/** Derives the file name ADD gives a download: the URL's last path segment, as BuildKit names it. */
export function urlFileName(url: string): string {
  try {
    const base = path.posix.basename(new URL(url).pathname);
    return base === '' || base === '.' || base === '/' ? '__unnamed__' : decodeURIComponent(base);
  } catch {
    return '__unnamed__';
  }
}

/**
 * Downloads an ADD URL into a fresh directory under `scratchDir` and returns it as a copy source:
 * mode 0600 as Docker documents, mtime from `Last-Modified` when the server sends one, and the
 * content checked against `checksum` (`sha256:<hex>`) when given. The body streams to disk.
 * NOTE: without Last-Modified the file keeps the download time.
 */
export async function downloadUrl(
  url: string,
  scratchDir: string,
  options: { checksum?: string | undefined; signal?: AbortSignal | undefined },
): Promise<ContextEntry> {
  const response = await fetch(url, { redirect: 'follow', signal: options.signal ?? null }).catch(
    (error: unknown) => {
      throw new EngineError('ADD_DOWNLOAD_FAILED', `ADD could not fetch ${url}`, {
        hint: 'Check that the URL is reachable from the build host.',
        cause: error,
      });
    },
  );
  if (!response.ok || response.body === null) {
    throw new EngineError('ADD_DOWNLOAD_FAILED', `ADD got HTTP ${response.status} for ${url}`, {
      hint: 'Check the URL; ADD needs a 2xx answer with a body.',
    });
  }
  await mkdir(scratchDir, { recursive: true });
  const dir = await mkdtemp(path.join(scratchDir, 'add-url-'));
  const name = urlFileName(url);
  const file = path.join(dir, name);
  const digest = createDigestStream('sha256');
  await pipeline(
    Readable.fromWeb(response.body as WebReadableStream<Uint8Array>),
    digest,
    createWriteStream(file, { mode: 0o600 }),
  );
  if (options.checksum !== undefined && digest.digest() !== options.checksum) {
    throw new EngineError(
      'ADD_CHECKSUM_MISMATCH',
      `ADD --checksum=${options.checksum} does not match ${url}, whose content is ${digest.digest()}`,
      { hint: 'Update --checksum to the digest of the file you expect, or fix the URL.' },
    );
  }
  const lastModified = response.headers.get('last-modified');
  const mtime = lastModified === null ? undefined : new Date(lastModified);
  if (mtime !== undefined && !Number.isNaN(mtime.getTime())) await utimes(file, mtime, mtime);
  return { relativePath: name, hostPath: file, stats: await lstat(file) };
}

/** Downloads of each build, by the build's services object, so they go once the build is gone. */
const downloadsByBuild = new WeakMap<object, Map<string, Promise<ContextEntry>>>();

/**
 * Downloads `url` at most once per build (`build` is any object that lives as long as the build,
 * such as its services). The layer cache keys an ADD by the downloaded content, and the ADD
 * itself then copies the same file.
 */
export function downloadUrlOnce(
  build: object,
  url: string,
  scratchDir: string,
  options: { checksum?: string | undefined; signal?: AbortSignal | undefined },
): Promise<ContextEntry> {
  let downloads = downloadsByBuild.get(build);
  if (downloads === undefined) {
    downloads = new Map();
    downloadsByBuild.set(build, downloads);
  }
  const key = `${url}\n${options.checksum ?? ''}`;
  let download = downloads.get(key);
  if (download === undefined) {
    download = downloadUrl(url, scratchDir, options);
    downloads.set(key, download);
    // A failed download is tried again by the next step that needs it.
    download.catch(() => downloads.delete(key));
  }
  return download;
}
