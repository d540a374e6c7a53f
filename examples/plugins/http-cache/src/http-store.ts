import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { pipeline, Transform, type Readable } from 'node:stream';
import {
  CacheError,
  type CacheBlobSource,
  type CacheLookup,
  type CachePutOptions,
  type CacheRecord,
  type CacheStore,
} from '@kiln/cache';
import {
  createVerifyingStream,
  Digester,
  digestReadable,
  parseDigest,
  sha256Digest,
} from '@kiln/oci-spec';
import { checkExpected, checkPut } from './put-checks.js';
import { parseRecord, serializeRecord } from './record.js';
import { spoolBlob, type SpooledBlob } from './spool.js';
import {
  CacheTransport,
  parseCacheLocation,
  unexpectedStatus,
  type HttpResponse,
} from './transport.js';

export interface HttpCacheStoreOptions {
  /**
   * Check that `get` runs on a blob: 'digest' downloads and hashes it (once per process while the
   * server's ETag stays the same), 'size' only compares the Content-Length of a HEAD. Default 'digest'.
   */
  verify?: 'digest' | 'size';
  /** Directory for blobs given as streams, held there until their digest is known. Default: the OS temp dir. */
  spoolDirectory?: string;
  /** Bearer token sent with every request; it replaces credentials in the location. */
  token?: string;
  /** Maximum connections to the server. Default 8. */
  connections?: number;
  /** Attempts after the first for a request that failed or got 408, 429 or 5xx. Default 2. */
  retries?: number;
}

// Records are a few hundred bytes; a larger body is not a record this store wrote.
const MAX_RECORD_BYTES = 1 << 20;

function corrupt(
  corruption: Extract<CacheLookup, { status: 'corrupt' }>['corruption'],
  message: string,
): CacheLookup {
  return { status: 'corrupt', corruption, message };
}

function headerValue(response: HttpResponse, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

// Reads a response body as UTF-8 text, or returns undefined once it exceeds `limit` bytes.
async function readLimited(response: HttpResponse, limit: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      response.body.destroy();
      return undefined;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * A cache store on a plain HTTP server, in the layout of remote build caches: blobs at
 * `PREFIX/cas/<algorithm>/<hex>` and records (JSON) at `PREFIX/ac/<sha256 of the key>`, written with
 * PUT, read with GET and HEAD, removed with DELETE. The server must make a PUT visible only when
 * complete, as nginx's WebDAV module does (it writes a temporary file and renames it).
 */
export class HttpCacheStore implements CacheStore {
  readonly name: string;
  readonly #transport: CacheTransport;
  readonly #verify: 'digest' | 'size';
  readonly #spoolDirectory: string;
  // Blobs this process has hashed, by digest, with the ETag the server sent for them then.
  readonly #verified = new Map<string, string>();

  constructor(location: string, options: HttpCacheStoreOptions = {}) {
    const parsed = parseCacheLocation(location);
    this.name = `http:${parsed.origin}${parsed.basePath}`;
    this.#transport = new CacheTransport(parsed, {
      connections: options.connections ?? 8,
      retries: options.retries ?? 2,
      ...(options.token === undefined ? {} : { token: options.token }),
    });
    this.#verify = options.verify ?? 'digest';
    this.#spoolDirectory = options.spoolDirectory ?? tmpdir();
  }

  /** Returns the path, below the location, of the blob with this digest. */
  blobPath(digest: string): string {
    const { algorithm, encoded } = parseDigest(digest);
    return `/cas/${algorithm}/${encoded}`;
  }

  /** Returns the path, below the location, of the record for a key (any string maps to a safe name). */
  recordPath(key: string): string {
    return `/ac/${sha256Digest(key).slice('sha256:'.length)}`;
  }

  async get(key: string): Promise<CacheLookup> {
    const lookup = await this.#lookup(key);
    // The unusable record is removed so that the entry is reported once and then reads as a miss.
    if (lookup.status === 'corrupt') await this.#deleteQuietly(this.recordPath(key));
    return lookup;
  }

  async #lookup(key: string): Promise<CacheLookup> {
    const path = this.recordPath(key);
    const response = await this.#transport.send('GET', path);
    if (response.statusCode === 404) {
      await response.body.dump();
      return { status: 'miss' };
    }
    if (response.statusCode !== 200)
      throw await unexpectedStatus(this.#transport, 'GET', path, response);

    const text = await readLimited(response, MAX_RECORD_BYTES);
    if (text === undefined) {
      return corrupt(
        'record-invalid',
        `cache record ${this.#transport.urlOf(path)} for key ${key} is larger than ${MAX_RECORD_BYTES} bytes, too large for a record`,
      );
    }
    const parsed = parseRecord(text, key);
    if ('problem' in parsed) {
      return corrupt(
        'record-invalid',
        `cache record ${this.#transport.urlOf(path)} for key ${key} is invalid: ${parsed.problem}`,
      );
    }

    const { record } = parsed;
    const problem = await this.#checkBlob(record.descriptor.digest, record.descriptor.size);
    if (problem !== undefined) return problem;
    return {
      status: 'hit',
      record,
      open: () => this.#openBlob(record.descriptor.digest, record.descriptor.size),
    };
  }

  async #checkBlob(digest: string, size: number): Promise<CacheLookup | undefined> {
    const path = this.blobPath(digest);
    const url = this.#transport.urlOf(path);
    const method = this.#verify === 'size' ? 'HEAD' : 'GET';
    const knownTag = this.#verified.get(digest);
    // A blob hashed before is fetched only when the server's ETag changed since (304 otherwise).
    const response = await this.#transport.send(method, path, {
      headers: knownTag === undefined ? {} : { 'if-none-match': knownTag },
    });
    if (response.statusCode === 304) {
      await response.body.dump();
      return undefined;
    }
    if (response.statusCode === 404) {
      await response.body.dump();
      return corrupt('blob-missing', `cached blob ${digest} is missing from ${url}`);
    }
    if (response.statusCode !== 200)
      throw await unexpectedStatus(this.#transport, method, path, response);

    // A response without Content-Length (chunked) is checked by its hash alone.
    const lengthHeader = headerValue(response, 'content-length');
    const length = lengthHeader === undefined ? undefined : Number(lengthHeader);
    if (length !== undefined && length !== size) {
      await response.body.dump();
      await this.#discardBlob(digest);
      return corrupt(
        'size-mismatch',
        `cached blob ${digest} at ${url} is ${length} bytes, expected ${size}`,
      );
    }
    if (method === 'HEAD') return undefined;

    let actual: { digest: string; size: number };
    try {
      actual = await digestReadable(response.body, parseDigest(digest).algorithm);
    } catch (error) {
      throw new CacheError(
        'STORE_FAILED',
        `HTTP cache store: reading ${url} failed: ${(error as Error).message}`,
        {
          hint: 'Check that the cache server is running and reachable.',
          cause: error,
        },
      );
    }
    if (actual.size !== size) {
      await this.#discardBlob(digest);
      return corrupt(
        'size-mismatch',
        `cached blob ${digest} at ${url} is ${actual.size} bytes, expected ${size}`,
      );
    }
    if (actual.digest !== digest) {
      await this.#discardBlob(digest);
      return corrupt(
        'digest-mismatch',
        `cached blob ${digest} at ${url} hashes to ${actual.digest}`,
      );
    }
    // Only a strong ETag promises the same bytes, so a weak one (`W/"..."`) is not remembered.
    const etag = headerValue(response, 'etag');
    if (etag !== undefined && !etag.startsWith('W/')) this.#verified.set(digest, etag);
    return undefined;
  }

  // A blob found corrupt is deleted so that the next put uploads it again.
  // NOTE: if another writer replaced it with good bytes in between, that copy is deleted too.
  async #discardBlob(digest: string): Promise<void> {
    this.#verified.delete(digest);
    await this.#deleteQuietly(this.blobPath(digest));
  }

  // Failures are ignored: the entry is already unusable, and the next put replaces it anyway.
  async #deleteQuietly(path: string): Promise<void> {
    const response = await this.#transport.send('DELETE', path).catch(() => undefined);
    await response?.body.dump().catch(() => undefined);
  }

  async #openBlob(digest: string, size: number): Promise<Readable> {
    const path = this.blobPath(digest);
    const response = await this.#transport.send('GET', path);
    if (response.statusCode === 404) {
      await response.body.dump();
      throw new CacheError(
        'STORE_FAILED',
        `cached blob ${digest} disappeared from ${this.#transport.urlOf(path)} after the lookup`,
        {
          hint: 'Another client deleted or pruned it; run the build again.',
        },
      );
    }
    if (response.statusCode !== 200)
      throw await unexpectedStatus(this.#transport, 'GET', path, response);

    const verifying = createVerifyingStream({ digest, size });
    // pipeline destroys the response body when the consumer stops early or verification fails.
    return pipeline(response.body, verifying, (error) => {
      if (verifying.state === 'failed' && error !== undefined) void this.#discardBlob(digest);
    });
  }

  async put(key: string, source: CacheBlobSource, options: CachePutOptions): Promise<CacheRecord> {
    const algorithm = checkPut(key, options);
    let blob: SpooledBlob;
    try {
      blob = await spoolBlob(source, algorithm, this.#spoolDirectory);
    } catch (error) {
      throw new CacheError(
        'STORE_FAILED',
        `HTTP cache store: reading the blob for key ${key} failed: ${(error as Error).message}`,
        {
          hint: 'Check the layer file or stream given to put, and that the spool directory is writable.',
          cause: error,
        },
      );
    }

    try {
      checkExpected(key, options, blob);
      if (!(await this.#hasBlob(blob.digest, blob.size))) await this.#uploadBlob(blob);

      const record: CacheRecord = {
        key,
        descriptor: { mediaType: options.mediaType, digest: blob.digest, size: blob.size },
        createdAt: new Date().toISOString(),
      };
      if (options.diffId !== undefined) record.diffId = options.diffId;
      if (options.annotations !== undefined) record.annotations = { ...options.annotations };
      await this.#putExpectingCreated(this.recordPath(key), serializeRecord(record), {
        'content-type': 'application/json',
      });
      return record;
    } finally {
      await blob.cleanup();
    }
  }

  // Blobs are content-addressed, so one of the same size under the digest's path is the same blob
  // unless damaged, and damaged blobs are deleted when `get` or `open` finds them.
  async #hasBlob(digest: string, size: number): Promise<boolean> {
    const path = this.blobPath(digest);
    const response = await this.#transport.send('HEAD', path);
    await response.body.dump();
    if (response.statusCode === 404) return false;
    if (response.statusCode !== 200)
      throw await unexpectedStatus(this.#transport, 'HEAD', path, response);
    return Number(headerValue(response, 'content-length')) === size;
  }

  // The file is hashed again during the upload because a caller's file may change after spooling.
  // A blob uploaded with bytes that do not match its digest is deleted again.
  async #uploadBlob(blob: SpooledBlob): Promise<void> {
    const path = this.blobPath(blob.digest);
    // The hash is read after the response rather than at end of stream, because the server
    // responds once it has Content-Length bytes, which can be before the file stream ends.
    let digester = new Digester(parseDigest(blob.digest).algorithm);
    // Each attempt reads the file anew and hashes what it sends.
    const openBody = (): Readable => {
      const attemptDigester = new Digester(parseDigest(blob.digest).algorithm);
      digester = attemptDigester;
      const hashing = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          attemptDigester.update(chunk);
          callback(null, chunk);
        },
      });
      return pipeline(createReadStream(blob.path), hashing, () => undefined);
    };
    try {
      await this.#putExpectingCreated(path, openBody, {
        'content-type': 'application/octet-stream',
        'content-length': String(blob.size),
      });
    } catch (error) {
      await this.#discardBlob(blob.digest);
      throw error;
    }
    if (digester.size !== blob.size || digester.digest() !== blob.digest) {
      await this.#discardBlob(blob.digest);
      throw new CacheError(
        'DIGEST_MISMATCH',
        `HTTP cache store: ${blob.path} changed while it was uploaded as ${blob.digest}`,
        { hint: 'The layer file was modified during the build; produce it again.' },
      );
    }
  }

  async #putExpectingCreated(
    path: string,
    body: string | (() => Readable),
    headers: Record<string, string>,
  ): Promise<void> {
    const response = await this.#transport.send('PUT', path, { body, headers });
    // 201 for a new entry, 204 (or 200 on some servers) when an existing one was replaced.
    if (response.statusCode !== 201 && response.statusCode !== 204 && response.statusCode !== 200)
      throw await unexpectedStatus(this.#transport, 'PUT', path, response);
    await response.body.dump();
  }

  async delete(key: string): Promise<boolean> {
    const path = this.recordPath(key);
    const response = await this.#transport.send('DELETE', path);
    if (response.statusCode === 404) {
      await response.body.dump();
      return false;
    }
    if (response.statusCode !== 204 && response.statusCode !== 200)
      throw await unexpectedStatus(this.#transport, 'DELETE', path, response);
    await response.body.dump();
    return true;
  }

  async close(): Promise<void> {
    await this.#transport.close();
  }
}
