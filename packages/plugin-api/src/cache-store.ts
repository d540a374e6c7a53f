import type { CacheStore } from '@kiln/cache';
import type { PluginLogger } from './events.js';

export interface CacheStoreOptions {
  logger: PluginLogger;
  /** Options from the command line or config file for this store. */
  options: Readonly<Record<string, string>>;
}

export interface CacheStoreFactory {
  /** URL scheme the store serves in `--cache-repo SCHEME://...`, such as `http` or `s3`. */
  scheme: string;
  create(location: string, options: CacheStoreOptions): CacheStore | Promise<CacheStore>;
}
