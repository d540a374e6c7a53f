import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalDirectoryStore } from './local-store.js';
import { OciLayoutStore } from './oci-layout-store.js';
import { openCacheStore, parseCacheStoreLocation } from './open-store.js';
import { RegistryCacheStore } from './registry-store.js';

describe('parseCacheStoreLocation', () => {
  it.each([
    ['dir:/var/cache/kiln', { kind: 'dir', path: '/var/cache/kiln' }],
    ['dir:relative/cache', { kind: 'dir', path: resolve('relative/cache') }],
    ['/var/cache/kiln', { kind: 'dir', path: '/var/cache/kiln' }],
    ['./cache', { kind: 'dir', path: resolve('cache') }],
    ['../cache', { kind: 'dir', path: resolve('../cache') }],
    ['~/cache', { kind: 'dir', path: join(homedir(), 'cache') }],
    ['oci:/srv/layout', { kind: 'oci', path: '/srv/layout' }],
  ])('reads %s as a path', (location, expected) => {
    expect(parseCacheStoreLocation(location)).toEqual(expected);
  });

  it.each([
    ['registry.example.com/team/cache', 'registry.example.com/team/cache'],
    ['127.0.0.1:5000/cache', '127.0.0.1:5000/cache'],
    ['localhost/cache', 'localhost/cache'],
    ['cache', 'docker.io/library/cache'],
  ])('reads %s as a registry repository', (location, name) => {
    const parsed = parseCacheStoreLocation(location);
    expect(parsed.kind).toBe('registry');
    if (parsed.kind === 'registry') expect(parsed.repository.name()).toBe(name);
  });

  it.each(['', 'dir:', 'oci:', 'registry.example.com/cache:v1', 'Invalid Name/x'])(
    'rejects %j',
    (location) => {
      expect(() => parseCacheStoreLocation(location)).toThrow(
        expect.objectContaining({ code: 'INVALID_STORE' }),
      );
    },
  );
});

describe('openCacheStore', () => {
  it('opens the store each location names', async () => {
    expect(openCacheStore('/tmp/kiln-cache')).toBeInstanceOf(LocalDirectoryStore);
    expect(openCacheStore('oci:/tmp/kiln-layout')).toBeInstanceOf(OciLayoutStore);
    const registry = openCacheStore('127.0.0.1:5000/cache', { registry: { insecure: true } });
    expect(registry).toBeInstanceOf(RegistryCacheStore);
    expect(registry.name).toBe('registry:127.0.0.1:5000/cache');
    await registry.close?.();
  });
});
