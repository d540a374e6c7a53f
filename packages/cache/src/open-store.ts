import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { parseReference, type ImageReference } from '@kiln/oci-spec';
import { RegistryClient, type RegistryClientOptions } from '@kiln/registry-client';
import { CacheError } from './errors.js';
import { LocalDirectoryStore } from './local-store.js';
import { OciLayoutStore } from './oci-layout-store.js';
import { RegistryCacheStore, type CacheStoreEvent } from './registry-store.js';
import type { CacheStore } from './store.js';

export interface OpenCacheStoreOptions {
  /** Client for a registry store; without it one is made from `registry` and closed with the store. */
  client?: RegistryClient;
  /** Options of the client made for a registry store. */
  registry?: RegistryClientOptions;
  /** Entries older than this many milliseconds read as misses (`--cache-ttl`). */
  ttlMs?: number;
  /** Check of blob files by `get` in directory and layout stores. Default 'digest'. */
  verify?: 'digest' | 'size';
  /** Spool directory of a registry store. */
  spoolDir?: string;
  /** Makes a registry store's `flush` throw when a background push failed. */
  failOnPushError?: boolean;
  /** Events of a registry store's background pushes. */
  onEvent?: (event: CacheStoreEvent) => void;
}

/** The kind of store a location names, and where it is. */
export type CacheStoreLocation =
  | { kind: 'dir'; path: string }
  | { kind: 'oci'; path: string }
  | { kind: 'registry'; repository: ImageReference };

function invalidLocation(location: string, problem: string): CacheError {
  return new CacheError(
    'INVALID_STORE',
    `invalid cache location ${JSON.stringify(location)}: ${problem}`,
    {
      hint: 'Give dir:PATH or an absolute path for a directory, oci:PATH for an OCI layout, or registry/repository for a registry.',
    },
  );
}

function expandPath(path: string): string {
  if (path === '~' || path.startsWith('~/')) return resolve(homedir(), path.slice(2));
  return resolve(path);
}

/**
 * Parses a cache location: `dir:PATH`, a path starting with `/`, `./`, `../` or `~/` (a local
 * directory), `oci:PATH` (an OCI layout), or otherwise a registry repository such as
 * `registry.example.com/team/cache`, named as Docker names images (a tag or digest is rejected).
 * The prefixes win, so a registry host named `dir` or `oci` needs its full form with a dot.
 */
export function parseCacheStoreLocation(location: string): CacheStoreLocation {
  const trimmed = location.trim();
  if (trimmed === '') throw invalidLocation(location, 'it is empty');
  for (const kind of ['dir', 'oci'] as const) {
    if (trimmed.startsWith(`${kind}:`)) {
      const path = trimmed.slice(kind.length + 1);
      if (path === '') throw invalidLocation(location, 'the path is empty');
      return { kind, path: expandPath(path) };
    }
  }
  if (/^(\/|\.\.?\/|~\/|~$)/.test(trimmed)) return { kind: 'dir', path: expandPath(trimmed) };

  let repository: ImageReference;
  try {
    repository = parseReference(trimmed, { defaultTag: false });
  } catch (error) {
    throw invalidLocation(location, (error as Error).message);
  }
  if (repository.tag !== undefined || repository.digest !== undefined)
    throw invalidLocation(location, 'a cache repository takes no tag or digest');
  return { kind: 'registry', repository };
}

/** Opens the cache store a location names (`--cache-repo`, `--cache-dir`); see `parseCacheStoreLocation`. */
export function openCacheStore(location: string, options: OpenCacheStoreOptions = {}): CacheStore {
  const parsed = parseCacheStoreLocation(location);
  const ttl = options.ttlMs === undefined ? {} : { ttlMs: options.ttlMs };
  const verify = options.verify === undefined ? {} : { verify: options.verify };
  if (parsed.kind === 'dir') return new LocalDirectoryStore(parsed.path, { ...ttl, ...verify });
  if (parsed.kind === 'oci') return new OciLayoutStore(parsed.path, { ...ttl, ...verify });

  return new RegistryCacheStore({
    client: options.client ?? new RegistryClient(options.registry),
    closeClient: options.client === undefined,
    repository: parsed.repository,
    ...ttl,
    ...(options.spoolDir === undefined ? {} : { spoolDir: options.spoolDir }),
    ...(options.failOnPushError === undefined ? {} : { failOnPushError: options.failOnPushError }),
    ...(options.onEvent === undefined ? {} : { onEvent: options.onEvent }),
  });
}
