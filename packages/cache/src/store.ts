import type { Readable } from 'node:stream';
import type { Descriptor } from '@kiln/oci-spec';
import type { CacheKeyInputs } from './cache-key.js';
import type { StoredKeyInputs } from './key-slot.js';

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
  /** Slot of the step (see `cacheSlotOf`), for listing the records that can explain a miss. */
  slot?: string;
  /** The key inputs with secret-bearing values replaced by digests (see `redactCacheKeyInputs`). */
  inputs?: StoredKeyInputs;
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
  /** Set when an entry exists but is older than the store's time to live. */
  reason?: 'expired';
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
  /**
   * Inputs the key was computed from; the store keeps only their redacted form, to explain later
   * misses. The slot defaults to `cacheSlotOf(inputs)`.
   */
  inputs?: CacheKeyInputs;
  /** Slot of the step; overrides the one derived from `inputs`. */
  slot?: string;
  /** Repositories (`registry/name`) that may already hold the blob, for a registry store to mount from. */
  mountFrom?: string[];
}

export interface ListSlotOptions {
  /** Maximum number of records to return, newest first. Default 20. */
  limit?: number;
}

/** Outcome of the background uploads of a store that writes asynchronously. */
export interface CacheFlushResult {
  /** Entries written since the previous flush. */
  written: number;
  /** Entries that could not be written, with the error of each. */
  failed: Array<{ key: string; error: Error }>;
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
  /**
   * Lists the records stored for a slot, newest first, to find the nearest entry for a miss
   * (`findNearestRecord`). Stores that cannot list leave it out.
   */
  listSlot?(slot: string, options?: ListSlotOptions): Promise<CacheRecord[]>;
  /**
   * Waits for background writes started by `put` and reports their outcome. Stores that write
   * synchronously leave it out. The engine calls it once at the end of a build.
   */
  flush?(): Promise<CacheFlushResult>;
  /** Releases connections or background uploads; the engine calls it once after the build. */
  close?(): Promise<void>;
}
