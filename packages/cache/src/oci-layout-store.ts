import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import {
  MediaType,
  OCI_LAYOUT_VERSION,
  parseDigest,
  parseImageIndex,
  sha256Digest,
  type Descriptor,
} from '@kiln/oci-spec';
import { writeFileAtomic } from './atomic-file.js';
import { BlobFileVerifier, isNotFound, storeFailed } from './blob-file.js';
import {
  buildCacheImage,
  entryName,
  KEY_ANNOTATION,
  readCacheManifest,
  readCacheRecord,
  SLOT_ANNOTATION,
} from './cache-image.js';
import { withLockFile } from './layout-lock.js';
import { spoolBlob } from './put-checks.js';
import { buildRecord, isExpired } from './record.js';
import type {
  CacheBlobSource,
  CacheCorruption,
  CacheLookup,
  CachePutOptions,
  CacheRecord,
  CacheStore,
  ListSlotOptions,
} from './store.js';

export interface OciLayoutStoreOptions {
  /** Check run on a layer blob by `get`, as for `LocalDirectoryStore`. Default 'digest'. */
  verify?: 'digest' | 'size';
  /** Entries older than this many milliseconds read as misses (`reason: 'expired'`). */
  ttlMs?: number;
}

const CREATED_ANNOTATION = 'org.opencontainers.image.created';
const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';
const STORE = 'OCI layout cache store';

/**
 * A cache store in an OCI image layout: each entry is an image (see `RegistryCacheStore`) whose
 * manifest is listed in `index.json` with the key, slot and creation time as annotations and the
 * sha256 of the key as `org.opencontainers.image.ref.name`. Blobs are renamed into place. The
 * index is rewritten by rename under the lock file `index.json.lock`, so concurrent writers keep
 * every entry (the conformance suite and the layout tests check this).
 * NOTE: blobs of deleted or replaced entries stay in `blobs/` until removed by hand.
 */
export class OciLayoutStore implements CacheStore {
  readonly root: string;
  readonly name: string;
  readonly #blobs: BlobFileVerifier;
  readonly #ttlMs: number | undefined;
  #ready: Promise<void> | undefined;

  constructor(root: string, options: OciLayoutStoreOptions = {}) {
    this.root = resolve(root);
    this.name = `oci:${this.root}`;
    this.#blobs = new BlobFileVerifier(STORE, options.verify ?? 'digest');
    this.#ttlMs = options.ttlMs;
  }

  get #tmpDirectory(): string {
    return join(this.root, '.kiln-tmp');
  }

  get #indexPath(): string {
    return join(this.root, 'index.json');
  }

  /** Returns the path of the blob with this digest. */
  blobPath(digest: string): string {
    const { algorithm, encoded } = parseDigest(digest);
    return join(this.root, 'blobs', algorithm, encoded);
  }

  // Creates `oci-layout` and an empty index once; a layout another writer created is kept.
  #prepare(): Promise<void> {
    this.#ready ??= (async () => {
      await mkdir(join(this.root, 'blobs', 'sha256'), { recursive: true });
      await mkdir(this.#tmpDirectory, { recursive: true });
      const layout = `${JSON.stringify({ imageLayoutVersion: OCI_LAYOUT_VERSION })}\n`;
      await writeFile(join(this.root, 'oci-layout'), layout, { flag: 'wx' }).catch(
        (error: unknown) => {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        },
      );
    })().catch((error: unknown) => {
      this.#ready = undefined;
      throw storeFailed(STORE, `creating the layout in ${this.root}`, error);
    });
    return this.#ready;
  }

  async #readIndex(): Promise<Descriptor[]> {
    let text: string;
    try {
      text = await readFile(this.#indexPath, 'utf8');
    } catch (error) {
      if (isNotFound(error)) return [];
      throw storeFailed(STORE, `reading ${this.#indexPath}`, error);
    }
    try {
      return parseImageIndex(text).manifests;
    } catch (error) {
      throw storeFailed(STORE, `parsing ${this.#indexPath}`, error);
    }
  }

  // Rewrites index.json under the lock; `change` returns the new list of manifests.
  async #updateIndex(change: (manifests: Descriptor[]) => Descriptor[]): Promise<void> {
    await withLockFile(`${this.#indexPath}.lock`, async () => {
      const manifests = change(await this.#readIndex());
      const index = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests };
      await writeFileAtomic(this.#indexPath, `${JSON.stringify(index)}\n`, this.#tmpDirectory);
    });
  }

  async #writeSmallBlob(bytes: Uint8Array): Promise<void> {
    await writeFileAtomic(this.blobPath(sha256Digest(bytes)), bytes, this.#tmpDirectory);
  }

  async #readSmallBlob(descriptor: Descriptor): Promise<Uint8Array | undefined> {
    const bytes = await readFile(this.blobPath(descriptor.digest)).catch((error: unknown) => {
      if (isNotFound(error)) return undefined;
      throw storeFailed(STORE, `reading blob ${descriptor.digest}`, error);
    });
    if (bytes === undefined || sha256Digest(bytes) !== descriptor.digest) return undefined;
    return new Uint8Array(bytes);
  }

  async put(key: string, source: CacheBlobSource, options: CachePutOptions): Promise<CacheRecord> {
    await this.#prepare();
    const { temporary, digest, size } = await spoolBlob(
      key,
      source,
      options,
      this.#tmpDirectory,
      STORE,
    );
    const record = buildRecord(key, { mediaType: options.mediaType, digest, size }, options);
    const image = buildCacheImage(record);
    try {
      // Renaming over an existing blob is safe: same digest, same bytes, and it repairs a bad copy.
      await rename(temporary, this.blobPath(digest));
      await this.#writeSmallBlob(image.configBytes);
      await this.#writeSmallBlob(image.manifestBytes);
      const annotations: Record<string, string> = {
        [KEY_ANNOTATION]: key,
        [CREATED_ANNOTATION]: record.createdAt,
        [REF_NAME_ANNOTATION]: entryName(key),
      };
      if (record.slot !== undefined) annotations[SLOT_ANNOTATION] = record.slot;
      await this.#updateIndex((manifests) => [
        ...manifests.filter((entry) => entry.annotations?.[KEY_ANNOTATION] !== key),
        { ...image.manifestDescriptor, annotations },
      ]);
    } catch (error) {
      await rm(temporary, { force: true });
      if (error instanceof Error && error.name === 'CacheError') throw error;
      throw storeFailed(STORE, `storing key ${key}`, error);
    }
    return record;
  }

  async get(key: string): Promise<CacheLookup> {
    const entry = (await this.#readIndex()).find(
      (descriptor) => descriptor.annotations?.[KEY_ANNOTATION] === key,
    );
    if (entry === undefined) return { status: 'miss' };
    const read = await this.#readEntry(key, entry);
    if ('corruption' in read) return this.#corrupt(key, entry, read.corruption, read.message);
    const { record } = read;
    if (isExpired(record, this.#ttlMs)) return { status: 'miss', reason: 'expired' };

    const { digest, size } = record.descriptor;
    const blobPath = this.blobPath(digest);
    const problem = await this.#blobs.check(blobPath, digest, size);
    if (problem !== undefined)
      return this.#corrupt(key, entry, problem.corruption, problem.message);
    return {
      status: 'hit',
      record,
      open: (): Promise<Readable> => this.#blobs.open(blobPath, digest, size),
    };
  }

  async #readEntry(
    key: string,
    entry: Descriptor,
  ): Promise<{ record: CacheRecord } | { corruption: CacheCorruption; message: string }> {
    const invalid = (problem: string) => ({
      corruption: 'record-invalid' as const,
      message: `cache entry ${entry.digest} for key ${key} in ${this.root} is invalid: ${problem}`,
    });
    const manifestBytes = await this.#readSmallBlob(entry);
    if (manifestBytes === undefined) return invalid('its manifest blob is missing or damaged');
    const summary = readCacheManifest(manifestBytes, key);
    if (summary.kind !== 'entry')
      return invalid(summary.kind === 'invalid' ? summary.problem : 'it is marked deleted');
    const configBytes = await this.#readSmallBlob(summary.manifest.config);
    if (configBytes === undefined) return invalid('its config blob is missing or damaged');
    const parsed = readCacheRecord(configBytes, key, summary.manifest.layers[0]!);
    return 'problem' in parsed ? invalid(parsed.problem) : parsed;
  }

  // A damaged entry leaves the index, so it is reported once, unless another writer replaced it.
  async #corrupt(
    key: string,
    entry: Descriptor,
    corruption: CacheCorruption,
    message: string,
  ): Promise<CacheLookup> {
    await this.#updateIndex((manifests) =>
      manifests.filter(
        (descriptor) =>
          descriptor.annotations?.[KEY_ANNOTATION] !== key || descriptor.digest !== entry.digest,
      ),
    );
    return { status: 'corrupt', corruption, message };
  }

  /** Lists the records of a slot from the index annotations, newest first. */
  async listSlot(slot: string, options: ListSlotOptions = {}): Promise<CacheRecord[]> {
    const entries = (await this.#readIndex())
      .filter((descriptor) => descriptor.annotations?.[SLOT_ANNOTATION] === slot)
      .sort((left, right) =>
        (right.annotations?.[CREATED_ANNOTATION] ?? '').localeCompare(
          left.annotations?.[CREATED_ANNOTATION] ?? '',
        ),
      );
    const records: CacheRecord[] = [];
    for (const entry of entries) {
      if (records.length >= (options.limit ?? 20)) break;
      const read = await this.#readEntry(entry.annotations![KEY_ANNOTATION]!, entry);
      if ('record' in read) records.push(read.record);
    }
    return records;
  }

  async delete(key: string): Promise<boolean> {
    let found = false;
    await this.#updateIndex((manifests) =>
      manifests.filter((descriptor) => {
        const matches = descriptor.annotations?.[KEY_ANNOTATION] === key;
        found ||= matches;
        return !matches;
      }),
    );
    return found;
  }
}
