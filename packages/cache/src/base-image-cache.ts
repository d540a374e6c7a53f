import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  formatPlatform,
  parseDigest,
  parseImageConfig,
  parseManifestDocument,
  selectManifest,
  toReference,
  type Descriptor,
  type ImageConfig,
  type ImageManifest,
  type ImageReference,
  type Platform,
} from '@kiln/oci-spec';
import type { RegistryClient } from '@kiln/registry-client';
import { writeFileAtomic } from './atomic-file.js';
import { documentMediaType, ReferenceRecords } from './base-references.js';
import { BlobFileVerifier, isNotFound, storeFailed } from './blob-file.js';
import { CacheError } from './errors.js';
import { isUnknown, readSmall, registryFailed } from './registry-support.js';

export interface BaseImageCacheOptions {
  /**
   * Time in milliseconds for which a tag's resolution to a manifest digest is used without a
   * registry request. Default 5 minutes. With 0 every pull sends a request, and with `Infinity`
   * a known tag never does. References by digest need no request once their manifest is stored.
   */
  referenceTtlMs?: number;
  /** Check of a stored layer before use: hash it (once per process while unchanged) or compare its size. Default 'digest'. */
  verify?: 'digest' | 'size';
  onEvent?: (event: BaseImageCacheEvent) => void;
}

/** Progress event of the base-image cache while it resolves an image. */
export type BaseImageCacheEvent =
  | {
      type: 'base-reference';
      reference: string;
      digest: string;
      source: 'cache' | 'registry' | 'stale-cache';
    }
  | {
      type: 'base-blob';
      reference: string;
      digest: string;
      size: number;
      source: 'cache' | 'registry';
    }
  | { type: 'base-blob-damaged'; digest: string; message: string };

/** A base image resolved for one platform, with every layer as a verified local file. */
export interface CachedBaseImage {
  /** The reference pinned to the digest of the platform's manifest. */
  reference: ImageReference;
  /** Digest the requested reference resolved to (an index's digest for a multi-platform image). */
  resolvedDigest: string;
  manifestDescriptor: Descriptor;
  manifest: ImageManifest;
  manifestBytes: Uint8Array;
  config: ImageConfig;
  configDescriptor: Descriptor;
  configBytes: Uint8Array;
  /** The layers in order, each with the path of its blob in the cache. */
  layers: Array<{ descriptor: Descriptor; path: string }>;
  /** Blobs (manifests, config and layers) fetched from the registry by this call. */
  downloaded: number;
}

const DEFAULT_REFERENCE_TTL_MS = 5 * 60 * 1000;

/**
 * Keeps base images under a directory so that a second build pulls nothing: manifests, configs
 * and layers by digest in `blobs/<algorithm>/<hex>` (verified when read), and each tag's latest
 * resolution in `references/<sha256 of reference>.json`, trusted for `referenceTtlMs`. Every
 * file is written by rename, so concurrent builds can share the directory.
 * Give it its own directory (for example `<cache-dir>/base`), because a layer store's prune
 * would remove blobs it does not know.
 */
export class BaseImageCache {
  readonly root: string;
  readonly #options: BaseImageCacheOptions;
  readonly #blobs: BlobFileVerifier;
  readonly #references: ReferenceRecords;

  constructor(root: string, options: BaseImageCacheOptions = {}) {
    this.root = resolve(root);
    this.#options = options;
    this.#blobs = new BlobFileVerifier('base image cache', options.verify ?? 'digest');
    this.#references = new ReferenceRecords(join(this.root, 'references'), join(this.root, 'tmp'));
  }

  get #tmpDirectory(): string {
    return join(this.root, 'tmp');
  }

  /** Returns the path of a blob (manifest, config or layer) in the cache. */
  blobPath(digest: string): string {
    const { algorithm, encoded } = parseDigest(digest);
    return join(this.root, 'blobs', algorithm, encoded);
  }

  #emit(event: BaseImageCacheEvent): void {
    this.#options.onEvent?.(event);
  }

  #emitBlob(
    pinned: ImageReference,
    digest: string,
    size: number,
    source: 'cache' | 'registry',
  ): void {
    this.#emit({ type: 'base-blob', reference: pinned.toString(), digest, size, source });
  }

  /**
   * Resolves `reference` for `platform` and returns its manifest, config and local layer paths,
   * fetching from the registry only what is missing or damaged in the cache.
   */
  async pull(
    client: RegistryClient,
    reference: ImageReference | string,
    platform: Platform,
  ): Promise<CachedBaseImage> {
    const requested = toReference(reference);
    const counter = { downloaded: 0 };
    await mkdir(this.#tmpDirectory, { recursive: true });

    const top = await this.#resolveTop(client, requested, counter);
    let document = parseManifestDocument(top.bytes, top.mediaType);
    let manifestDescriptor: Descriptor = {
      mediaType: top.mediaType,
      digest: top.digest,
      size: top.bytes.length,
    };
    let manifestBytes = top.bytes;
    let pinned = requested.withDigest(top.digest);

    if (document.kind === 'index') {
      const chosen = selectManifest(document.index, platform);
      if (chosen === undefined) {
        throw new CacheError(
          'INVALID_ENTRY',
          `${requested.toString()} has no image for ${formatPlatform(platform)}`,
          { hint: 'Choose a platform the image index lists.' },
        );
      }
      pinned = requested.withDigest(chosen.digest);
      manifestBytes = await this.#manifestByDigest(client, pinned, chosen, counter);
      manifestDescriptor = {
        mediaType: chosen.mediaType,
        digest: chosen.digest,
        size: chosen.size,
      };
      document = parseManifestDocument(manifestBytes, chosen.mediaType);
      if (document.kind !== 'manifest') {
        throw new CacheError('INVALID_ENTRY', `${pinned.toString()} is an index inside an index`, {
          hint: 'Reference the platform manifest by digest instead.',
        });
      }
    }
    const manifest = document.manifest;

    const configBytes = await this.#smallBlob(client, pinned, manifest.config, counter);
    let config: ImageConfig;
    try {
      config = parseImageConfig(configBytes);
    } catch (error) {
      throw new CacheError(
        'INVALID_ENTRY',
        `config ${manifest.config.digest} of ${pinned.toString()}: ${(error as Error).message}`,
        {
          hint: 'The image config is invalid; rebuild the base image.',
          cause: error,
        },
      );
    }

    const layers = await Promise.all(
      manifest.layers.map(async (descriptor) => ({
        descriptor,
        path: await this.#layer(client, pinned, descriptor, counter),
      })),
    );
    return {
      reference: pinned,
      resolvedDigest: top.digest,
      manifestDescriptor,
      manifest,
      manifestBytes,
      config,
      configDescriptor: manifest.config,
      configBytes,
      layers,
      downloaded: counter.downloaded,
    };
  }

  // Finds the digest and bytes the reference points to: from a fresh record, else the registry,
  // else (when the registry cannot be reached) a stale record.
  async #resolveTop(
    client: RegistryClient,
    reference: ImageReference,
    counter: { downloaded: number },
  ): Promise<{ digest: string; mediaType: string; bytes: Uint8Array }> {
    const record = await this.#references.read(reference);
    if (record === undefined && reference.digest !== undefined) {
      // A manifest stored while pulling another reference serves a digest reference too.
      const stored = await this.#readVerified(reference.digest);
      const mediaType = stored === undefined ? undefined : documentMediaType(stored);
      if (stored !== undefined && mediaType !== undefined) {
        this.#emit({
          type: 'base-reference',
          reference: reference.toString(),
          digest: reference.digest,
          source: 'cache',
        });
        return { digest: reference.digest, mediaType, bytes: stored };
      }
    }
    const ttl = this.#options.referenceTtlMs ?? DEFAULT_REFERENCE_TTL_MS;
    const fresh =
      record !== undefined &&
      (reference.digest !== undefined || Date.now() - record.resolvedAt <= ttl);
    if (fresh) {
      const bytes = await this.#readVerified(record.digest);
      if (bytes !== undefined) {
        this.#emit({
          type: 'base-reference',
          reference: reference.toString(),
          digest: record.digest,
          source: 'cache',
        });
        return { digest: record.digest, mediaType: record.mediaType, bytes };
      }
    }

    let result;
    try {
      result = await client.getManifest(reference);
    } catch (error) {
      const stale =
        record === undefined || isUnknown(error)
          ? undefined
          : await this.#readVerified(record.digest);
      if (stale === undefined || record === undefined)
        throw registryFailed('base image cache', `resolving ${reference.toString()}`, error);
      this.#emit({
        type: 'base-reference',
        reference: reference.toString(),
        digest: record.digest,
        source: 'stale-cache',
      });
      return { digest: record.digest, mediaType: record.mediaType, bytes: stale };
    }
    counter.downloaded += 1;
    const digest = result.descriptor.digest;
    await this.#writeBlob(digest, result.bytes);
    await this.#references.write(reference, digest, result.mediaType);
    this.#emit({
      type: 'base-reference',
      reference: reference.toString(),
      digest,
      source: 'registry',
    });
    return { digest, mediaType: result.mediaType, bytes: result.bytes };
  }

  async #writeBlob(digest: string, bytes: Uint8Array): Promise<void> {
    const path = this.blobPath(digest);
    await mkdir(join(path, '..'), { recursive: true });
    await writeFileAtomic(path, bytes, this.#tmpDirectory);
  }

  // Reads a small blob and checks its digest; a damaged copy is reported and read as absent.
  async #readVerified(digest: string): Promise<Uint8Array | undefined> {
    const bytes = await readFile(this.blobPath(digest)).catch((error: unknown) => {
      if (isNotFound(error)) return undefined;
      throw storeFailed('base image cache', `reading blob ${digest}`, error);
    });
    if (bytes === undefined) return undefined;
    const { algorithm } = parseDigest(digest);
    const actual = `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
    if (actual !== digest) {
      this.#emit({
        type: 'base-blob-damaged',
        digest,
        message: `cached blob ${digest} hashes to ${actual}`,
      });
      return undefined;
    }
    return new Uint8Array(bytes);
  }

  async #manifestByDigest(
    client: RegistryClient,
    pinned: ImageReference,
    descriptor: Descriptor,
    counter: { downloaded: number },
  ): Promise<Uint8Array> {
    const local = await this.#readVerified(descriptor.digest);
    if (local !== undefined) {
      this.#emitBlob(pinned, descriptor.digest, local.length, 'cache');
      return local;
    }
    let result;
    try {
      result = await client.getManifest(pinned);
    } catch (error) {
      throw registryFailed('base image cache', `fetching manifest ${pinned.toString()}`, error);
    }
    counter.downloaded += 1;
    await this.#writeBlob(descriptor.digest, result.bytes);
    this.#emitBlob(pinned, descriptor.digest, result.bytes.length, 'registry');
    return result.bytes;
  }

  async #smallBlob(
    client: RegistryClient,
    pinned: ImageReference,
    descriptor: Descriptor,
    counter: { downloaded: number },
  ): Promise<Uint8Array> {
    const local = await this.#readVerified(descriptor.digest);
    if (local !== undefined && local.length === descriptor.size) {
      this.#emitBlob(pinned, descriptor.digest, descriptor.size, 'cache');
      return local;
    }
    let bytes: Uint8Array;
    try {
      bytes = await readSmall(await client.fetchBlob(pinned, descriptor));
    } catch (error) {
      throw registryFailed(
        'base image cache',
        `fetching blob ${descriptor.digest} of ${pinned.toString()}`,
        error,
      );
    }
    counter.downloaded += 1;
    await this.#writeBlob(descriptor.digest, bytes);
    this.#emitBlob(pinned, descriptor.digest, descriptor.size, 'registry');
    return bytes;
  }

  async #layer(
    client: RegistryClient,
    pinned: ImageReference,
    descriptor: Descriptor,
    counter: { downloaded: number },
  ): Promise<string> {
    const path = this.blobPath(descriptor.digest);
    const problem = await this.#blobs.check(path, descriptor.digest, descriptor.size);
    if (problem === undefined) {
      this.#emitBlob(pinned, descriptor.digest, descriptor.size, 'cache');
      return path;
    }
    if (problem.corruption !== 'blob-missing')
      this.#emit({
        type: 'base-blob-damaged',
        digest: descriptor.digest,
        message: problem.message,
      });

    await mkdir(join(path, '..'), { recursive: true });
    try {
      await client.downloadBlob(pinned, descriptor, path);
      await this.#blobs.remember(path);
    } catch (error) {
      throw registryFailed(
        'base image cache',
        `downloading layer ${descriptor.digest} of ${pinned.toString()}`,
        error,
      );
    }
    counter.downloaded += 1;
    this.#emitBlob(pinned, descriptor.digest, descriptor.size, 'registry');
    return path;
  }
}
