import {
  formatPlatform,
  isValidDigest,
  normalizePlatform,
  parsePlatform,
  sha256Digest,
  type Platform,
} from '@kiln/oci-spec';
import { canonicalJson, type JsonValue } from './canonical-json.js';
import { CacheError } from './errors.js';

/** One source file of a COPY or ADD, as it goes into the key. */
export interface CacheKeySource {
  /** Path inside the build context (or the source stage), POSIX, no leading slash. */
  path: string;
  /** Digest of the file content; for a symlink, of its target text. */
  digest: string;
  mode?: number;
  uid?: number;
  gid?: number;
}

/** Everything that can change the output of one instruction. */
export interface CacheKeyInputs {
  /** Key of the previous layer, or the base image's manifest digest for the first instruction. */
  parentKey: string;
  /** The instruction after variable expansion, for example `RUN make -j2 VERSION=1.2`. */
  instruction: string;
  /** Build args visible to the instruction (declared by ARG in scope), by name. */
  buildArgs?: Record<string, string>;
  /** Environment visible to the instruction: the image's Env after earlier ENV instructions. */
  env?: Record<string, string> | string[];
  /** Platform the layer is built for, as an object or `os/arch[/variant]`. */
  platform: Platform | string;
  /** COPY and ADD source files; their order does not matter. */
  sources?: CacheKeySource[];
  /**
   * Other inputs that change the output: executor, snapshot options, or what a plugin handler
   * declares. Values are strings; names are sorted.
   */
  extra?: Record<string, string>;
}

/** Format tag inside the hashed JSON; changing the format changes every key. */
export const CACHE_KEY_FORMAT = 'kiln.cache-key.v1';

function invalidInput(message: string, hint: string): CacheError {
  return new CacheError('INVALID_KEY_INPUT', `invalid cache key input: ${message}`, { hint });
}

// `NAME=VALUE` entries become a map; a later entry for a name wins, as in a container's environment.
function envToMap(env: Record<string, string> | string[]): Record<string, string> {
  if (!Array.isArray(env)) return { ...env };
  const map: Record<string, string> = {};
  for (const entry of env) {
    const separator = entry.indexOf('=');
    if (separator <= 0)
      throw invalidInput(
        `env entry ${JSON.stringify(entry)} is not NAME=VALUE`,
        'Pass Env entries as "NAME=VALUE".',
      );
    map[entry.slice(0, separator)] = entry.slice(separator + 1);
  }
  return map;
}

function canonicalSources(sources: CacheKeySource[]): JsonValue[] {
  const seen = new Set<string>();
  for (const source of sources) {
    if (!isValidDigest(source.digest)) {
      throw invalidInput(
        `source ${source.path} has invalid digest ${JSON.stringify(source.digest)}`,
        'Hash each source file with sha256.',
      );
    }
    if (seen.has(source.path))
      throw invalidInput(`source ${source.path} is listed twice`, 'List each source file once.');
    seen.add(source.path);
  }
  return (
    [...sources]
      // Paths are unique (checked above), so no two compare equal. Code-unit order keeps the key
      // independent of the locale.
      .sort((left, right) => (left.path < right.path ? -1 : 1))
      .map((source) => ({
        path: source.path,
        digest: source.digest,
        mode: source.mode ?? null,
        uid: source.uid ?? null,
        gid: source.gid ?? null,
      }))
  );
}

/**
 * Returns the canonical JSON that `computeCacheKey` hashes: an object with the fields
 * `format`, `parent`, `instruction`, `args` and `env` (maps), `platform` (normalised
 * `os/arch[/variant]`), `sources` (sorted by path; digest, mode, uid, gid) and `extra` (map).
 * Object keys are sorted and absent optional inputs are written as empty maps or lists.
 */
export function canonicalCacheKeyJson(inputs: CacheKeyInputs): string {
  if (inputs.parentKey === '')
    throw invalidInput(
      'parentKey is empty',
      'Pass the previous key or the base manifest digest ("scratch" for none).',
    );
  if (inputs.instruction.trim() === '')
    throw invalidInput(
      'instruction is empty',
      'Pass the instruction text after variable expansion.',
    );
  const platform =
    typeof inputs.platform === 'string'
      ? parsePlatform(inputs.platform)
      : normalizePlatform(inputs.platform);
  return canonicalJson({
    format: CACHE_KEY_FORMAT,
    parent: inputs.parentKey,
    instruction: inputs.instruction,
    args: { ...inputs.buildArgs },
    env: inputs.env === undefined ? {} : envToMap(inputs.env),
    platform: formatPlatform(platform),
    sources: canonicalSources(inputs.sources ?? []),
    extra: { ...inputs.extra },
  });
}

/** Computes a layer's cache key: `sha256:<hex>` of `canonicalCacheKeyJson(inputs)`. */
export function computeCacheKey(inputs: CacheKeyInputs): string {
  return sha256Digest(canonicalCacheKeyJson(inputs));
}
