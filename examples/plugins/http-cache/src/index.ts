import { httpCachePlugin } from './plugin.js';

export default httpCachePlugin;
export { httpCachePlugin, storeOptionsFrom } from './plugin.js';
export { HttpCacheStore } from './http-store.js';
export type { HttpCacheStoreOptions } from './http-store.js';
export { parseCacheLocation } from './transport.js';
export type { CacheLocation } from './transport.js';
