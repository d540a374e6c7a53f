export { LocalDirectoryStore } from './local-store.js';
export type { LocalDirectoryStoreOptions } from './local-store.js';
export type { PruneOptions, PruneResult } from './local-prune.js';
export { OciLayoutStore } from './oci-layout-store.js';
export type { OciLayoutStoreOptions } from './oci-layout-store.js';
export { RegistryCacheStore } from './registry-store.js';
export type { CacheStoreEvent, RegistryCacheStoreOptions } from './registry-store.js';
export { openCacheStore, parseCacheStoreLocation } from './open-store.js';
export { BaseImageCache } from './base-image-cache.js';
export type {
  BaseImageCacheEvent,
  BaseImageCacheOptions,
  CachedBaseImage,
} from './base-image-cache.js';
export type { CacheStoreLocation, OpenCacheStoreOptions } from './open-store.js';
export type {
  CacheBlobSource,
  CacheCorrupt,
  CacheCorruption,
  CacheFlushResult,
  CacheHit,
  CacheLookup,
  CacheMiss,
  CachePutOptions,
  CacheRecord,
  CacheStore,
  ListSlotOptions,
} from './store.js';
export { CacheError } from './errors.js';
export type { CacheErrorCode, CacheErrorOptions } from './errors.js';
export { CACHE_KEY_FORMAT, canonicalCacheKeyJson, computeCacheKey } from './cache-key.js';
export type { CacheKeyInputs, CacheKeySource } from './cache-key.js';
export { diffCacheKeyInputs } from './cache-key-diff.js';
export type { CacheKeyDifference } from './cache-key-diff.js';
export {
  CACHE_SLOT_FORMAT,
  cacheSlotOf,
  findNearestRecord,
  redactCacheKeyInputs,
} from './key-slot.js';
export type { NearestCacheRecord, StoredKeyInputs } from './key-slot.js';
export { explainCacheMiss } from './explain-miss.js';
export type { CacheMissExplanation } from './explain-miss.js';
