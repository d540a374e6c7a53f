import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { EMPTY_JSON_DIGEST, EMPTY_JSON_SIZE, MediaType, parseReference } from '@kiln/oci-spec';
import type { ImageReference } from '@kiln/oci-spec';
import type { RegistryClient } from '@kiln/registry-client';
import { BlobFileVerifier } from './blob-file.js';
import {
  buildCacheImage,
  buildTombstone,
  entryName,
  readCacheManifest,
  readCacheRecord,
} from './cache-image.js';
import { CacheError } from './errors.js';
import { spoolBlob } from './put-checks.js';
import { buildRecord, isExpired } from './record.js';
import { RegistrySlotIndex } from './registry-slots.js';
import { corruptionOf, isUnknown, readSmall, registryFailed } from './registry-support.js';
import type {
  CacheBlobSource,
  CacheFlushResult,
  CacheLookup,
  CachePutOptions,
  CacheRecord,
  CacheStore,
  ListSlotOptions,
} from './store.js';

/** Progress of a registry store's background work, delivered through `onEvent`. */
export type CacheStoreEvent =
  | { type: 'cache-entry-pushed'; store: string; key: string; tag: string; digest: string }
  | { type: 'cache-entry-push-failed'; store: string; key: string; error: Error }
  | { type: 'cache-slot-update-failed'; store: string; slot: string; error: Error };

export interface RegistryCacheStoreOptions {
  /** Client used for every request; the store closes it only when `closeClient` is set. */
  client: RegistryClient;
  /** Repository of the entries, `registry/name` (a tag or digest in it is ignored). */
  repository: string | ImageReference;
  /** Entries older than this many milliseconds read as misses (`reason: 'expired'`). */
  ttlMs?: number;
  /** Directory for blobs being pushed and layers downloaded by `get`; default a new temporary one. */
  spoolDir?: string;
  /** Makes `flush` throw when a background push failed; by default failures are only reported. */
  failOnPushError?: boolean;
  /** Closes `client` in `close`. */
  closeClient?: boolean;
  onEvent?: (event: CacheStoreEvent) => void;
}

interface PendingPush {
  promise: Promise<void>;
  slot: string | undefined;
}

/**
 * A cache store in a registry repository, like kaniko's `--cache-repo`: one small image per key,
 * tagged with the sha256 of the key, whose config records the key inputs and creation time. `put`
 * returns once the blob is spooled locally and pushes in the background; `flush` waits for the
 * pushes. `get` downloads the layer into the spool and verifies it, so that a damaged entry is a
 * miss before the engine uses it.
 */
export class RegistryCacheStore implements CacheStore {
  readonly name: string;
  readonly repository: ImageReference;
  readonly #client: RegistryClient;
  readonly #options: RegistryCacheStoreOptions;
  readonly #blobs = new BlobFileVerifier('registry cache spool');
  readonly #slots: RegistrySlotIndex;
  readonly #pending = new Map<string, PendingPush>();
  readonly #all = new Set<Promise<void>>();
  // Keys reported as corrupt by this store, so that each is reported once; a put clears the mark.
  readonly #reported = new Set<string>();
  #written = 0;
  #failed: Array<{ key: string; error: Error }> = [];
  #spool: Promise<string> | undefined;

  constructor(options: RegistryCacheStoreOptions) {
    const parsed =
      typeof options.repository === 'string'
        ? parseReference(options.repository)
        : options.repository;
    this.repository = parseReference(parsed.name());
    this.name = `registry:${parsed.name()}`;
    this.#client = options.client;
    this.#options = options;
    this.#slots = new RegistrySlotIndex(this.#client, this.repository);
  }

  #tag(key: string): ImageReference {
    return this.repository.withTag(entryName(key));
  }

  #spoolDirectory(): Promise<string> {
    this.#spool ??= (async () => {
      const directory =
        this.#options.spoolDir ?? (await mkdtemp(join(tmpdir(), 'kiln-registry-cache-')));
      await mkdir(join(directory, 'tmp'), { recursive: true });
      await mkdir(join(directory, 'blobs'), { recursive: true });
      return directory;
    })();
    return this.#spool;
  }

  async #blobPath(digest: string): Promise<string> {
    return join(await this.#spoolDirectory(), 'blobs', digest.replace(':', '-'));
  }

  #emit(event: CacheStoreEvent): void {
    this.#options.onEvent?.(event);
  }

  async put(key: string, source: CacheBlobSource, options: CachePutOptions): Promise<CacheRecord> {
    const spool = await this.#spoolDirectory();
    const { temporary, digest, size } = await spoolBlob(
      key,
      source,
      options,
      join(spool, 'tmp'),
      this.name,
    );
    const blobPath = await this.#blobPath(digest);
    try {
      await rename(temporary, blobPath);
    } catch (error) {
      await rm(temporary, { force: true });
      throw registryFailed(this.name, `spooling the blob for key ${key}`, error);
    }
    await this.#blobs.remember(blobPath);
    const record = buildRecord(key, { mediaType: options.mediaType, digest, size }, options);
    this.#reported.delete(key);

    // A later put of the same key waits for the earlier one, so the registry ends with the later.
    const previous = this.#pending.get(key)?.promise ?? Promise.resolve();
    const promise = previous
      .then(() => this.#push(record, blobPath, options.mountFrom ?? []))
      .then(
        () => {
          this.#written += 1;
        },
        (error: unknown) => {
          const failure = registryFailed(this.name, `pushing the entry for key ${key}`, error);
          this.#failed.push({ key, error: failure });
          this.#emit({ type: 'cache-entry-push-failed', store: this.name, key, error: failure });
        },
      );
    const pending = { promise, slot: record.slot };
    this.#pending.set(key, pending);
    this.#all.add(promise);
    void promise.finally(() => {
      this.#all.delete(promise);
      if (this.#pending.get(key) === pending) this.#pending.delete(key);
    });
    return record;
  }

  async #push(record: CacheRecord, blobPath: string, mountFrom: string[]): Promise<void> {
    const image = buildCacheImage(record);
    const tag = this.#tag(record.key);
    await this.#client.pushImage(tag, {
      manifestBytes: image.manifestBytes,
      mediaType: MediaType.OciManifest,
      blobs: [
        { descriptor: image.configDescriptor, open: () => Readable.from([image.configBytes]) },
        { descriptor: record.descriptor, open: () => createReadStream(blobPath), mountFrom },
      ],
    });
    this.#emit({
      type: 'cache-entry-pushed',
      store: this.name,
      key: record.key,
      tag: tag.toString(),
      digest: image.manifestDescriptor.digest,
    });
    if (record.slot !== undefined) {
      const slot = record.slot;
      await this.#slots.add(slot, record, image.manifestDescriptor).catch((error: unknown) => {
        this.#emit({
          type: 'cache-slot-update-failed',
          store: this.name,
          slot,
          error: error as Error,
        });
      });
    }
  }

  async get(key: string): Promise<CacheLookup> {
    await this.#pending.get(key)?.promise;
    if (this.#reported.has(key)) return { status: 'miss' };

    const found = await this.#readEntry(key, true);
    if (found.status !== 'found') return found;
    const { record } = found;

    const blobPath = await this.#blobPath(record.descriptor.digest);
    const { digest, size } = record.descriptor;
    const local = (await stat(blobPath).catch(() => undefined)) !== undefined;
    if (!local || (await this.#blobs.check(blobPath, digest, size)) !== undefined) {
      try {
        await this.#client.downloadBlob(this.#tag(key), record.descriptor, blobPath);
        await this.#blobs.remember(blobPath);
      } catch (error) {
        const corruption = corruptionOf(error);
        if (corruption === undefined)
          throw registryFailed(this.name, `downloading blob ${digest}`, error);
        // NOTE: a damaged blob stays in the registry, because the registry client cannot delete
        // blobs and a registry skips uploads of a digest it has; each new store reports it once.
        return this.#corrupt(key, corruption, `cached blob ${digest}: ${(error as Error).message}`);
      }
    }
    return { status: 'hit', record, open: () => this.#blobs.open(blobPath, digest, size) };
  }

  #corrupt(
    key: string,
    corruption: 'record-invalid' | 'blob-missing' | 'size-mismatch' | 'digest-mismatch',
    message: string,
  ): CacheLookup {
    this.#reported.add(key);
    return { status: 'corrupt', corruption, message: `${this.name}: ${message}` };
  }

  // Reads an entry's manifest and config, checking the time to live (from the manifest's
  // creation annotation, before the config is fetched) when `checkTtl` is set. The layer is the
  // caller's to check.
  async #readEntry(
    key: string,
    checkTtl = false,
  ): Promise<{ status: 'found'; record: CacheRecord; manifestDigest: string } | CacheLookup> {
    const tag = this.#tag(key);
    let manifestBytes: Uint8Array;
    let manifestDigest: string;
    try {
      const result = await this.#client.getManifest(tag, { accept: [MediaType.OciManifest] });
      manifestBytes = result.bytes;
      manifestDigest = result.descriptor.digest;
    } catch (error) {
      if (isUnknown(error)) return { status: 'miss' };
      throw registryFailed(this.name, `reading ${tag.toString()}`, error);
    }

    const summary = readCacheManifest(manifestBytes, key);
    if (summary.kind === 'deleted') return { status: 'miss' };
    if (summary.kind === 'invalid')
      return this.#corrupt(key, 'record-invalid', `entry ${tag.toString()}: ${summary.problem}`);
    if (checkTtl && isExpired({ createdAt: summary.createdAt }, this.#options.ttlMs))
      return { status: 'miss', reason: 'expired' };

    let configBytes: Uint8Array;
    try {
      configBytes = await readSmall(await this.#client.fetchBlob(tag, summary.manifest.config));
    } catch (error) {
      const corruption = corruptionOf(error);
      if (
        corruption === undefined &&
        !(error instanceof Error && /larger than/.test(error.message))
      )
        throw registryFailed(this.name, `reading the config of ${tag.toString()}`, error);
      return this.#corrupt(
        key,
        'record-invalid',
        `config of entry ${tag.toString()}: ${(error as Error).message}`,
      );
    }
    const parsed = readCacheRecord(configBytes, key, summary.manifest.layers[0]!);
    if ('problem' in parsed)
      return this.#corrupt(key, 'record-invalid', `entry ${tag.toString()}: ${parsed.problem}`);
    return { status: 'found', record: parsed.record, manifestDigest };
  }

  /**
   * Lists the records of a slot, newest first, from the slot's index. Entries whose tag now
   * points elsewhere (deleted or replaced) are left out.
   */
  async listSlot(slot: string, options: ListSlotOptions = {}): Promise<CacheRecord[]> {
    // Only pushes into this slot are awaited, so explaining a miss does not wait for other uploads.
    await Promise.all(
      [...this.#pending.values()]
        .filter((pending) => pending.slot === slot)
        .map((pending) => pending.promise),
    );
    const candidates = await this.#slots.list(slot).catch((error: unknown) => {
      throw registryFailed(this.name, `reading the index of slot ${slot}`, error);
    });
    const records: CacheRecord[] = [];
    for (const candidate of candidates) {
      if (records.length >= (options.limit ?? 20)) break;
      const found = await this.#readEntry(candidate.key);
      if (found.status !== 'found' || found.manifestDigest !== candidate.digest) continue;
      if (found.record.slot === slot) records.push(found.record);
    }
    return records;
  }

  /**
   * Marks the entry deleted by pushing a manifest without layers under its tag, because the
   * reference registry rejects deleting a tag.
   */
  async delete(key: string): Promise<boolean> {
    await this.#pending.get(key)?.promise;
    const found = await this.#readEntry(key);
    this.#reported.delete(key);
    if (found.status === 'miss') return false;
    const { manifestBytes, emptyConfig } = buildTombstone(key);
    try {
      await this.#client.pushImage(this.#tag(key), {
        manifestBytes,
        mediaType: MediaType.OciManifest,
        blobs: [
          {
            descriptor: {
              mediaType: MediaType.OciEmptyJson,
              digest: EMPTY_JSON_DIGEST,
              size: EMPTY_JSON_SIZE,
            },
            open: () => Readable.from([emptyConfig]),
          },
        ],
      });
    } catch (error) {
      throw registryFailed(this.name, `deleting the entry for key ${key}`, error);
    }
    return true;
  }

  async flush(): Promise<CacheFlushResult> {
    while (this.#all.size > 0) await Promise.all(this.#all);
    const result = { written: this.#written, failed: this.#failed };
    this.#written = 0;
    this.#failed = [];
    if (this.#options.failOnPushError === true && result.failed.length > 0) {
      const first = result.failed[0]!;
      throw new CacheError(
        'STORE_FAILED',
        `${this.name}: ${result.failed.length} cache entries were not pushed; first, key ${first.key}: ${first.error.message}`,
        {
          hint: 'Check the cache repository and its credentials, or let cache pushes fail without failing the build.',
          cause: first.error,
        },
      );
    }
    return result;
  }

  async close(): Promise<void> {
    while (this.#all.size > 0) await Promise.all(this.#all);
    if (this.#spool !== undefined && this.#options.spoolDir === undefined)
      await rm(await this.#spool, { recursive: true, force: true });
    this.#spool = undefined;
    if (this.#options.closeClient === true) await this.#client.close();
  }
}
