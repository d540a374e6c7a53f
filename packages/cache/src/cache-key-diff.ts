import { canonicalCacheKeyJson, type CacheKeyInputs } from './cache-key.js';

/** One input that differs between two cache keys. */
export interface CacheKeyDifference {
  /** `parent`, `instruction`, `platform`, `args.NAME`, `env.NAME`, `extra.NAME` or `sources.PATH`. */
  field: string;
  change: 'added' | 'removed' | 'changed';
  /**
   * Old and new values, only for fields that hold no user values: parent, instruction, platform
   * and sources (content digests). Build args and env may carry secrets, so only their names appear.
   */
  before?: string;
  after?: string;
}

interface CanonicalInputs {
  parent: string;
  instruction: string;
  platform: string;
  args: Record<string, string>;
  env: Record<string, string>;
  extra: Record<string, string>;
  sources: Array<{
    path: string;
    digest: string;
    mode: number | null;
    uid: number | null;
    gid: number | null;
  }>;
}

function describeSource(source: CanonicalInputs['sources'][number]): string {
  const mode = source.mode === null ? '' : ` mode ${source.mode.toString(8)}`;
  const owner =
    source.uid === null && source.gid === null
      ? ''
      : ` owner ${source.uid ?? ''}:${source.gid ?? ''}`;
  return `${source.digest}${mode}${owner}`;
}

function diffMaps(
  prefix: string,
  before: Record<string, string>,
  after: Record<string, string>,
): CacheKeyDifference[] {
  const names = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  const differences: CacheKeyDifference[] = [];
  for (const name of names) {
    const field = `${prefix}.${name}`;
    if (!(name in before)) differences.push({ field, change: 'added' });
    else if (!(name in after)) differences.push({ field, change: 'removed' });
    else if (before[name] !== after[name]) differences.push({ field, change: 'changed' });
  }
  return differences;
}

/**
 * Lists the inputs that differ between two steps' key inputs, in the order of the canonical
 * key fields, so that a cache miss can name what changed since the nearest stored key.
 */
export function diffCacheKeyInputs(
  before: CacheKeyInputs,
  after: CacheKeyInputs,
): CacheKeyDifference[] {
  const left = JSON.parse(canonicalCacheKeyJson(before)) as CanonicalInputs;
  const right = JSON.parse(canonicalCacheKeyJson(after)) as CanonicalInputs;
  const differences: CacheKeyDifference[] = [];

  for (const field of ['parent', 'instruction', 'platform'] as const) {
    if (left[field] !== right[field])
      differences.push({ field, change: 'changed', before: left[field], after: right[field] });
  }
  differences.push(...diffMaps('args', left.args, right.args));
  differences.push(...diffMaps('env', left.env, right.env));

  const leftSources = new Map(left.sources.map((source) => [source.path, describeSource(source)]));
  const rightSources = new Map(
    right.sources.map((source) => [source.path, describeSource(source)]),
  );
  const paths = [...new Set([...leftSources.keys(), ...rightSources.keys()])].sort();
  for (const path of paths) {
    const was = leftSources.get(path);
    const now = rightSources.get(path);
    const field = `sources.${path}`;
    if (was === undefined) differences.push({ field, change: 'added', after: now! });
    else if (now === undefined) differences.push({ field, change: 'removed', before: was });
    else if (was !== now) differences.push({ field, change: 'changed', before: was, after: now });
  }

  differences.push(...diffMaps('extra', left.extra, right.extra));
  return differences;
}
