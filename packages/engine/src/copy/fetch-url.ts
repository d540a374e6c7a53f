import { createWriteStream } from 'node:fs';
import { lstat, mkdir, mkdtemp, utimes } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { createDigestStream } from '@kiln/oci-spec';
import type { ContextEntry } from '../context/build-context.js';
import { EngineError } from '../errors.js';
import { DownloadStore } from './download-store.js';
import type { DownloadValidators } from './download-store.js';

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

/** Options of an ADD download. */
export interface DownloadOptions {
  /** Expected digest of the content, `sha256:<hex>` (`ADD --checksum`). */
  checksum?: string | undefined;
  signal?: AbortSignal | undefined;
  /** Directory that keeps downloads and their validators between builds; none sends no conditional request. */
  cacheDir?: string | undefined;
}

/**
 * Downloads an ADD URL into a fresh directory under `scratchDir` and returns it as a copy source:
 * mode 0600 as Docker documents, mtime from `Last-Modified` when the server sends one, and the
 * content checked against `checksum` (`sha256:<hex>`) when given. The body streams to disk.
 * With `cacheDir`, a download stored there is revalidated by a conditional GET (If-None-Match with
 * its ETag, If-Modified-Since with its Last-Modified), and on 304 the stored content is used. A
 * full response replaces the stored one.
 * NOTE: without Last-Modified the file keeps the download time.
 */
export async function downloadUrl(
  url: string,
  scratchDir: string,
  options: DownloadOptions,
): Promise<ContextEntry> {
  const store = options.cacheDir === undefined ? undefined : new DownloadStore(options.cacheDir);
  const stored = await store?.open(url);
  try {
    const response = await fetch(url, {
      redirect: 'follow',
      signal: options.signal ?? null,
      headers: conditionalHeaders(stored),
    }).catch((error: unknown) => {
      throw new EngineError('ADD_DOWNLOAD_FAILED', `ADD could not fetch ${url}`, {
        hint: 'Check that the URL is reachable from the build host.',
        cause: error,
      });
    });

    if (response.status === 304 && stored !== undefined) {
      await response.body?.cancel();
      const content = stored.content.createReadStream({ start: 0, autoClose: false });
      const { entry } = await writeDownload(url, scratchDir, content, stored.lastModified, options);
      return entry;
    }

    if (!response.ok || response.body === null) {
      throw new EngineError('ADD_DOWNLOAD_FAILED', `ADD got HTTP ${response.status} for ${url}`, {
        hint: 'Check the URL; ADD needs a 2xx answer with a body.',
      });
    }
    const body = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
    const lastModified = response.headers.get('last-modified') ?? undefined;
    const { entry, digest } = await writeDownload(url, scratchDir, body, lastModified, options);
    if (store !== undefined) {
      const validators = { etag: response.headers.get('etag') ?? undefined, lastModified };
      const keep = validators.etag !== undefined || validators.lastModified !== undefined;
      // A download that cannot be stored is only fetched in full again next time.
      await (
        keep
          ? store.save(url, entry.hostPath, digest.slice('sha256:'.length), validators)
          : store.remove(url)
      ).catch(() => undefined);
    }
    return entry;
  } finally {
    await stored?.content.close();
  }
}

function conditionalHeaders(stored: DownloadValidators | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  if (stored?.etag !== undefined) headers['if-none-match'] = stored.etag;
  if (stored?.lastModified !== undefined) headers['if-modified-since'] = stored.lastModified;
  return headers;
}

/**
 * Streams `content` into a fresh directory under `scratchDir`, checks `options.checksum`, and
 * sets the mtime from `lastModified`. Returns the copy source and the content's digest.
 */
async function writeDownload(
  url: string,
  scratchDir: string,
  content: Readable,
  lastModified: string | undefined,
  options: DownloadOptions,
): Promise<{ entry: ContextEntry; digest: string }> {
  await mkdir(scratchDir, { recursive: true });
  const dir = await mkdtemp(path.join(scratchDir, 'add-url-'));
  const name = urlFileName(url);
  const file = path.join(dir, name);
  const digestStream = createDigestStream('sha256');
  await pipeline(content, digestStream, createWriteStream(file, { mode: 0o600 }));
  const digest = digestStream.digest();
  if (options.checksum !== undefined && digest !== options.checksum) {
    throw new EngineError(
      'ADD_CHECKSUM_MISMATCH',
      `ADD --checksum=${options.checksum} does not match ${url}, whose content is ${digest}`,
      { hint: 'Update --checksum to the digest of the file you expect, or fix the URL.' },
    );
  }
  const mtime = lastModified === undefined ? undefined : new Date(lastModified);
  if (mtime !== undefined && !Number.isNaN(mtime.getTime())) await utimes(file, mtime, mtime);
  return { entry: { relativePath: name, hostPath: file, stats: await lstat(file) }, digest };
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
  options: DownloadOptions,
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
