import type { Command } from 'commander';
import type { BuildEvent, LayerCacheOptions } from '@kiln/engine';
import { UsageError } from './usage-error.js';

/** The parsed values of kaniko's cache flags. */
export interface CacheFlags {
  cache: boolean;
  cacheRepo?: string;
  cacheDir?: string;
  cacheTtl?: string;
  cacheRunLayers: boolean;
  cacheCopyLayers: boolean;
  compressedCaching: boolean;
  explainCache: boolean;
}

/** Adds kaniko's layer-cache flags and `--explain-cache` to `kiln build`. */
export function addCacheFlags(command: Command): Command {
  return command
    .option('--cache', 'look layers up in the layer cache and store the layers of misses', false)
    .option(
      '--cache-repo <repo>',
      'layer cache: REGISTRY/REPOSITORY, oci:PATH or dir:PATH (default: <cache-dir>/layers, else <destination>/cache)',
    )
    .option(
      '--cache-dir <dir>',
      'local cache directory for base images, RUN cache mounts and, without --cache-repo, layers',
    )
    .option(
      '--cache-ttl <duration>',
      'age after which cache entries are misses, like 336h (default: 336h)',
    )
    .option('--cache-run-layers', 'cache the layers of RUN steps (default: true)', true)
    .option('--no-cache-run-layers', 'do not cache the layers of RUN steps')
    .option(
      '--cache-copy-layers',
      'cache the layers of COPY and ADD steps, keyed by every source file (default: true)',
      true,
    )
    .option('--no-cache-copy-layers', 'do not cache the layers of COPY and ADD steps')
    .option(
      '--compressed-caching',
      'accepted for kaniko compatibility and has no effect: kiln streams each layer, so it never holds one in memory to save',
      true,
    )
    .option(
      '--no-compressed-caching',
      'accepted for kaniko compatibility and has no effect (see --compressed-caching)',
    )
    .option('--explain-cache', 'print why each cached step missed: the inputs that differ', false);
}

/** Turns the cache flags into the engine's cache options; undefined when no cache flag is set. */
export function toCacheOptions(flags: CacheFlags): LayerCacheOptions | undefined {
  const ttlMs =
    flags.cacheTtl === undefined ? undefined : parseDuration(flags.cacheTtl, '--cache-ttl');
  if (!flags.cache && flags.cacheDir === undefined) return undefined;
  return {
    enabled: flags.cache,
    ...(flags.cacheRepo === undefined ? {} : { repo: flags.cacheRepo }),
    ...(flags.cacheDir === undefined ? {} : { dir: flags.cacheDir }),
    ...(ttlMs === undefined ? {} : { ttlMs }),
    runLayers: flags.cacheRunLayers,
    copyLayers: flags.cacheCopyLayers,
  };
}

const DURATION_UNITS_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** Parses a duration like Go's `336h` or `1h30m` (units ms, s, m, h and d) into milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const parts = [...text.trim().matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)];
  const consumed = parts.map((part) => part[0]).join('');
  if (parts.length === 0 || consumed !== text.trim()) {
    throw new UsageError(
      `invalid ${flag} value "${text}"`,
      'give a duration like 336h, 90m or 1h30m',
    );
  }
  return parts.reduce(
    (total, part) => total + Number(part[1]) * (DURATION_UNITS_MS[part[2] as string] as number),
    0,
  );
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1000 ** 4,
  tib: 1024 ** 4,
};

/** Parses a size like `10GB` (powers of 1000), `512MiB` or `512M` (powers of 1024) into bytes. */
export function parseSize(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = SIZE_UNITS[(match?.[2] ?? '').toLowerCase()];
  if (!match || unit === undefined) {
    throw new UsageError(
      `invalid ${flag} value "${text}"`,
      'give a size like 10GB, 512MiB or 1048576',
    );
  }
  return Math.floor(Number(match[1]) * unit);
}

/** Formats a step's cache outcome for `--explain-cache`; undefined for events without one. */
export function formatCacheExplanation(event: BuildEvent): string | undefined {
  if (event.type !== 'step-done' || event.cache !== 'miss') return undefined;
  const where = `cache miss at stage ${event.stage} step ${event.step}`;
  const explanation = event.explanation;
  if (explanation === undefined) return `${where}: no explanation`;
  if (explanation.kind === 'no-entry')
    return `${where}: ${explanation.store} has no entry after the same parent step (an earlier step missed, or this one never ran there)`;
  if (explanation.kind === 'unavailable')
    return `${where}: cannot explain (${explanation.message})`;
  const fields = explanation.differences.map(
    (difference) => `${difference.field} ${difference.change}`,
  );
  return `${where}: differs from the nearest entry in ${explanation.store} by ${fields.join(', ') || 'nothing listed'}`;
}
