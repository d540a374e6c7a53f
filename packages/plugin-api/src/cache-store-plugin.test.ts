import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalDirectoryStore } from '@kiln/cache';
import { describeCacheStoreConformance } from '@kiln/cache/conformance';
import type { CacheStoreFactory } from './cache-store.js';
import { definePlugin } from './plugin.js';

// A plugin that offers a cache store by URL scheme, tested the way a plugin author tests one:
// the factory's store must pass the shared store conformance suite.
const directoryCachePlugin = definePlugin({
  name: 'kiln-plugin-directory-cache',
  apiVersion: '^1.0.0',
  cacheStores: [
    {
      scheme: 'dir',
      create: (location) => new LocalDirectoryStore(location.slice('dir://'.length)),
    },
  ],
});

const silentLogger = { debug() {}, info() {}, warn() {}, error() {} };

describeCacheStoreConformance('plugin cache store (dir://)', async () => {
  const root = await mkdtemp(join(tmpdir(), 'kiln-plugin-cache-'));
  // The engine sees every factory through the API type, with both arguments.
  const factory: CacheStoreFactory = directoryCachePlugin.cacheStores[0];
  const store = await factory.create(`dir://${root}`, { logger: silentLogger, options: {} });
  return { store, cleanup: () => rm(root, { recursive: true, force: true }) };
});
