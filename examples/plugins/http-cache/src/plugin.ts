import { CacheError } from '@kiln/cache';
import { definePlugin, type CacheStoreFactory, type CacheStoreOptions } from '@kiln/plugin-api';
import { HttpCacheStore, type HttpCacheStoreOptions } from './http-store.js';

function invalidOption(name: string, value: string, expected: string): CacheError {
  return new CacheError('STORE_FAILED', `invalid HTTP cache option ${name}=${value}`, {
    hint: `Set ${name} to ${expected}.`,
  });
}

/** Turns the string options of the command line or config file into store options. */
export function storeOptionsFrom(options: CacheStoreOptions['options']): HttpCacheStoreOptions {
  const parsed: HttpCacheStoreOptions = {};
  const { verify, spoolDirectory, token, connections, retries } = options;
  if (verify !== undefined) {
    if (verify !== 'digest' && verify !== 'size')
      throw invalidOption('verify', verify, 'digest or size');
    parsed.verify = verify;
  }
  if (spoolDirectory !== undefined) parsed.spoolDirectory = spoolDirectory;
  // The token is a credential: it is never part of an error message.
  if (token !== undefined) parsed.token = token;
  if (connections !== undefined) {
    const count = Number(connections);
    if (!Number.isInteger(count) || count < 1)
      throw invalidOption('connections', connections, 'a positive integer');
    parsed.connections = count;
  }
  if (retries !== undefined) {
    const count = Number(retries);
    if (!Number.isInteger(count) || count < 0)
      throw invalidOption('retries', retries, 'zero or a positive integer');
    parsed.retries = count;
  }
  return parsed;
}

function factory(scheme: 'http' | 'https'): CacheStoreFactory {
  return {
    scheme,
    create: (location, { options }) => new HttpCacheStore(location, storeOptionsFrom(options)),
  };
}

/** The plugin: cache stores for `--cache-repo http://...` and `https://...`. */
export const httpCachePlugin = definePlugin({
  name: '@kiln-examples/http-cache',
  apiVersion: '^1.0.0',
  cacheStores: [factory('http'), factory('https')],
});
