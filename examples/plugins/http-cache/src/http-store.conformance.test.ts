import { readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeCacheStoreConformance, type BlobDamage } from '@kiln/cache/conformance';
import type { CacheStoreFactory } from '@kiln/plugin-api';
import { afterAll, beforeAll } from 'vitest';
import { httpCachePlugin } from './plugin.js';
import { startWebDavServer, type WebDavServer } from './testing/nginx-webdav.js';

// Each test gets its own path prefix on one nginx, so stores never see each other's entries.
let server: WebDavServer;
let prefixCount = 0;

beforeAll(async () => {
  server = await startWebDavServer();
});

afterAll(async () => {
  await server?.stop();
});

const silentLogger = { debug() {}, info() {}, warn() {}, error() {} };

async function damage(blobFile: string, kind: BlobDamage): Promise<void> {
  if (kind === 'remove') return rm(blobFile);
  if (kind === 'truncate') return truncate(blobFile, 10);
  const bytes = await readFile(blobFile);
  bytes[0] = (bytes[0] ?? 0) ^ 0xff;
  await writeFile(blobFile, bytes);
}

function harnessFactory(options: Record<string, string>) {
  return async () => {
    const prefix = `conformance-${++prefixCount}`;
    const location = `${server.url}/${prefix}`;
    // The engine gets the plugin's factory as the API type, with both arguments.
    const factory: CacheStoreFactory = httpCachePlugin.cacheStores[0];
    const open = async () => factory.create(location, { logger: silentLogger, options });
    return {
      store: await open(),
      openSecondStore: open,
      damageBlob: (digest: string, kind: BlobDamage) =>
        damage(join(server.root, prefix, 'cas', ...digest.split(':')), kind),
      detectedDamage: options.verify === 'size' ? (['truncate', 'remove'] as const) : undefined,
      cleanup: () => rm(join(server.root, prefix), { recursive: true, force: true }),
    };
  };
}

describeCacheStoreConformance('http-cache on nginx WebDAV', harnessFactory({}));
describeCacheStoreConformance(
  'http-cache on nginx WebDAV, size checks',
  harnessFactory({ verify: 'size' }),
);
