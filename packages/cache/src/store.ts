import type { Readable } from 'node:stream';
import type { Descriptor } from '@kiln/oci-spec';

/** Entry a cache key maps to: one blob (usually a layer) and the facts needed to reuse it. */
export interface CacheRecord {
  /** The key the record was stored under. */
  key: string;
  /** Media type, digest and size of the blob. */
  descriptor: Descriptor;
  /** Digest of the uncompressed layer, for the image config's `rootfs.diff_ids`. */
  diffId?: string;
  /** When the record was written, as an ISO 8601 UTC timestamp. */
  createdAt: string;
  /** Free-form string metadata, such as the instruction that produced the layer. */
  annotations?: Record<string, string>;
}

/** Kind of damage that makes a stored entry unusable; every kind is treated as a miss. */
export type CacheCorruption =
  | 'record-invalid'
  | 'blob-missing'
  | 'size-mismatch'
  | 'digest-mismatch';

export interface CacheHit {
  status: 'hit';
  record: CacheRecord;
  /**
   * Opens the blob. The stream verifies digest and size and errors at its end on a mismatch,
   * which protects against a blob that changed after `get` checked it.
   */
  open(): Promise<Readable>;
}

export interface CacheMiss {
  status: 'miss';
}

/** An entry exists but is unusable; the caller treats it as a miss and may report it once. */
export interface CacheCorrupt {
  status: 'corrupt';
  corruption: CacheCorruption;
  /** A sentence naming the key or blob and what is wrong with it. */
  message: string;
}

export type CacheLookup = CacheHit | CacheMiss | CacheCorrupt;

/** Blob content for `put`: a file path, or a stream (or opener) that is read once. */
export type CacheBlobSource =
  | { path: string }
  | { stream: Readable | AsyncIterable<Uint8Array> }
  | { open: () => Readable | Promise<Readable> };

export interface CachePutOptions {
  mediaType: string;
  /** Expected digest; when given, content that hashes differently is rejected and nothing is stored. */
  digest?: string;
  /** Expected size in bytes, checked like `digest`. */
  size?: number;
  diffId?: string;
  annotations?: Record<string, string>;
}

/**
 * A layer cache store. Implementations write atomically (a reader sees a whole entry or none),
 * tolerate concurrent writers, and report unusable entries as `corrupt` rather than throwing.
 */
export interface CacheStore {
  /** Short name for messages, such as `local:/var/cache/kiln`. */
  readonly name: string;
  /** Looks a key up; throws only when the store itself fails (for example, permission denied). */
  get(key: string): Promise<CacheLookup>;
  /** Stores the blob and a record for `key` (a non-empty string), replacing any earlier record for it. */
  put(key: string, source: CacheBlobSource, options: CachePutOptions): Promise<CacheRecord>;
  /** Removes the record for `key`; returns false when there was none. Blobs may stay until pruned. */
  delete(key: string): Promise<boolean>;
  /** Releases connections or background uploads; the engine calls it once after the build. */
  close?(): Promise<void>;
}
