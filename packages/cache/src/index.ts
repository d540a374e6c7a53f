export { LocalDirectoryStore } from './local-store.js';
export type { LocalDirectoryStoreOptions } from './local-store.js';
export type { PruneOptions, PruneResult } from './local-prune.js';
export type {
  CacheBlobSource,
  CacheCorrupt,
  CacheCorruption,
  CacheHit,
  CacheLookup,
  CacheMiss,
  CachePutOptions,
  CacheRecord,
  CacheStore,
} from './store.js';
export { CacheError } from './errors.js';
export type { CacheErrorCode, CacheErrorOptions } from './errors.js';
export { CACHE_KEY_FORMAT, canonicalCacheKeyJson, computeCacheKey } from './cache-key.js';
export type { CacheKeyInputs, CacheKeySource } from './cache-key.js';
export { diffCacheKeyInputs } from './cache-key-diff.js';
export type { CacheKeyDifference } from './cache-key-diff.js';
