import { formatPlatform, normalizePlatform, parsePlatform, sha256Digest } from '@kiln/oci-spec';
import { canonicalJson } from './canonical-json.js';
import { diffCacheKeyInputs, type CacheKeyDifference } from './cache-key-diff.js';
import type { CacheKeyInputs, CacheKeySource } from './cache-key.js';
import type { CacheRecord } from './store.js';

/**
 * Key inputs as a store keeps them: build arg, env and extra values are replaced by their sha256
 * digests, so a shared cache contains no secret passed as a build arg in plain text. Two records
 * can still be compared input by input.
 */
export interface StoredKeyInputs {
  parentKey: string;
  instruction: string;
  buildArgs: Record<string, string>;
  env: Record<string, string>;
  platform: string;
  sources: CacheKeySource[];
  extra: Record<string, string>;
}

/** A stored record nearest to a step's inputs, and the inputs that differ. */
export interface NearestCacheRecord {
  record: CacheRecord;
  differences: CacheKeyDifference[];
}

/** Format tag inside the hashed slot JSON. */
export const CACHE_SLOT_FORMAT = 'kiln.cache-slot.v1';

function digestValues(values: Record<string, string>): Record<string, string> {
  const digests: Record<string, string> = {};
  for (const [name, value] of Object.entries(values)) digests[name] = sha256Digest(value);
  return digests;
}

// `NAME=VALUE` entries become a map with the last entry winning, as computeCacheKey does.
function envMap(env: CacheKeyInputs['env']): Record<string, string> {
  if (env === undefined) return {};
  if (!Array.isArray(env)) return { ...env };
  const map: Record<string, string> = {};
  for (const entry of env) {
    const separator = entry.indexOf('=');
    if (separator > 0) map[entry.slice(0, separator)] = entry.slice(separator + 1);
  }
  return map;
}

function platformText(platform: CacheKeyInputs['platform']): string {
  return formatPlatform(
    typeof platform === 'string' ? parsePlatform(platform) : normalizePlatform(platform),
  );
}

/**
 * Returns the inputs in the form a store may keep: values of build args, env and extra replaced
 * by their sha256 digests. Parent, instruction, platform and sources are kept as they are.
 * NOTE: a digest of a short or guessable secret can be recovered by trying candidates.
 */
export function redactCacheKeyInputs(inputs: CacheKeyInputs): StoredKeyInputs {
  return {
    parentKey: inputs.parentKey,
    instruction: inputs.instruction,
    buildArgs: digestValues({ ...inputs.buildArgs }),
    env: digestValues(envMap(inputs.env)),
    platform: platformText(inputs.platform),
    sources: (inputs.sources ?? []).map((source) => ({ ...source })),
    extra: digestValues({ ...inputs.extra }),
  };
}

/**
 * Computes the slot of a step: `sha256:<hex>` over the parent key, the instruction keyword and the
 * platform. Steps in one slot are candidates for explaining each other's misses, because they
 * follow the same layer and differ only in their own inputs.
 */
export function cacheSlotOf(inputs: CacheKeyInputs | StoredKeyInputs): string {
  const keyword = inputs.instruction.trim().split(/\s+/, 1)[0]!.toUpperCase();
  return sha256Digest(
    canonicalJson({
      format: CACHE_SLOT_FORMAT,
      parent: inputs.parentKey,
      keyword,
      platform: platformText(inputs.platform),
    }),
  );
}

/**
 * Finds the record whose stored inputs differ least from `inputs` (the newest among equals), to
 * explain a miss. Records without stored inputs are skipped; returns undefined when none is left.
 */
export function findNearestRecord(
  records: readonly CacheRecord[],
  inputs: CacheKeyInputs,
): NearestCacheRecord | undefined {
  const current = redactCacheKeyInputs(inputs);
  let nearest: NearestCacheRecord | undefined;
  for (const record of records) {
    if (record.inputs === undefined) continue;
    const differences = diffCacheKeyInputs(record.inputs, current);
    const better =
      nearest === undefined ||
      differences.length < nearest.differences.length ||
      (differences.length === nearest.differences.length &&
        record.createdAt > nearest.record.createdAt);
    if (better) nearest = { record, differences };
  }
  return nearest;
}
