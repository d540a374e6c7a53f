import { join } from 'node:path';

import { umociUnpack } from '../checks.js';
import { makeTempDir, removeTempDir } from '../process.js';
import { compareConfigs } from './config-diff.js';
import type { ConfigDifference } from './config-diff.js';
import { globToRegExp } from './ignore.js';
import type { IgnoreRule } from './ignore.js';
import { readLayoutImage } from './layout.js';
import { ENTRY_FIELDS, readTree } from './tree.js';
import type { EntryField, EntryType, TreeEntry } from './tree.js';

/** A path present in one image only. */
export interface PresenceDifference {
  kind: 'only-in';
  side: 'a' | 'b';
  path: string;
  type: EntryType;
}

/** A path present in both images whose `field` differs. */
export interface EntryDifference {
  kind: 'entry';
  path: string;
  field: EntryField;
  a: unknown;
  b: unknown;
}

export type ImageDifference = PresenceDifference | EntryDifference | ConfigDifference;

export interface ImageSide {
  layoutDir: string;
  /** Tag inside the layout; the layout's only tagged image when omitted. */
  tag?: string;
  /**
   * Root filesystem of this image that `umociUnpack` already wrote, read in place of a new unpack.
   * Read it before anything runs in it, because a chroot check can leave files behind.
   */
  rootfs?: string;
}

export interface CompareImagesOptions {
  /** Differences to accept, each with its reason (see `BUILD_NOISE_IGNORES`). */
  ignore?: readonly IgnoreRule[];
}

export interface ImageComparison {
  differences: ImageDifference[];
  /** Differences that an ignore rule accepted, with that rule's reason. */
  ignored: Array<{ difference: ImageDifference; reason: string }>;
  /** Number of entries in each file tree. */
  entryCount: { a: number; b: number };
}

/**
 * Compares two images of OCI layouts: both are unpacked with umoci (unless a side names its
 * unpacked `rootfs`), their file trees are compared entry by entry (mtimes aside), and so are the
 * config fields a Dockerfile sets.
 */
export async function compareImages(
  a: ImageSide,
  b: ImageSide,
  options: CompareImagesOptions = {},
): Promise<ImageComparison> {
  const imageA = await readLayoutImage(a.layoutDir, a.tag);
  const imageB = await readLayoutImage(b.layoutDir, b.tag);
  const work = await makeTempDir('compare');
  try {
    const rootA = a.rootfs ?? (await umociUnpack(imageA.layoutDir, imageA.tag, join(work, 'a')));
    const rootB = b.rootfs ?? (await umociUnpack(imageB.layoutDir, imageB.tag, join(work, 'b')));
    const treeA = await readTree(rootA);
    const treeB = await readTree(rootB);

    const all = [...compareTrees(treeA, treeB), ...compareConfigs(imageA.config, imageB.config)];
    const rules = (options.ignore ?? []).map((rule) => ({
      rule,
      pattern: rule.path === undefined ? undefined : globToRegExp(rule.path),
    }));
    const result: ImageComparison = {
      differences: [],
      ignored: [],
      entryCount: { a: treeA.size, b: treeB.size },
    };
    for (const difference of all) {
      const match = rules.find(({ rule, pattern }) => ruleMatches(rule, pattern, difference));
      if (match === undefined) result.differences.push(difference);
      else result.ignored.push({ difference, reason: match.rule.reason });
    }
    return result;
  } finally {
    await removeTempDir(work);
  }
}

/** Compares two trees read by `readTree`; paths come out sorted. */
export function compareTrees(
  treeA: Map<string, TreeEntry>,
  treeB: Map<string, TreeEntry>,
): Array<PresenceDifference | EntryDifference> {
  const differences: Array<PresenceDifference | EntryDifference> = [];
  const paths = [...new Set([...treeA.keys(), ...treeB.keys()])].sort();
  for (const path of paths) {
    const left = treeA.get(path);
    const right = treeB.get(path);
    if (left === undefined || right === undefined) {
      const present = (left ?? right)!;
      differences.push({ kind: 'only-in', side: left ? 'a' : 'b', path, type: present.type });
      continue;
    }
    for (const field of ENTRY_FIELDS) {
      const valueA = left[field];
      const valueB = right[field];
      const same =
        field === 'xattrs'
          ? JSON.stringify(sortKeys(left.xattrs)) === JSON.stringify(sortKeys(right.xattrs))
          : valueA === valueB;
      if (!same) differences.push({ kind: 'entry', path, field, a: valueA, b: valueB });
    }
  }
  return differences;
}

function sortKeys(record: Record<string, string>): Array<[string, string]> {
  return Object.entries(record).sort(([x], [y]) => x.localeCompare(y));
}

function ruleMatches(
  rule: IgnoreRule,
  pattern: RegExp | undefined,
  difference: ImageDifference,
): boolean {
  if (difference.kind === 'config') return rule.config === difference.field;
  if (pattern === undefined || !pattern.test(difference.path)) return false;
  if (rule.onlyIn !== undefined) {
    return difference.kind === 'only-in' && difference.side === rule.onlyIn;
  }
  if (rule.fields === undefined) return true;
  return difference.kind === 'entry' && rule.fields.includes(difference.field);
}

/** Formats a difference as one line, such as `/etc/passwd: mode 644 != 600`. */
export function formatDifference(difference: ImageDifference): string {
  switch (difference.kind) {
    case 'only-in':
      return `${difference.path}: ${difference.type} only in ${difference.side.toUpperCase()}`;
    case 'entry':
      return `${difference.path}: ${difference.field} ${show(difference.field, difference.a)} != ${show(difference.field, difference.b)}`;
    case 'config':
      return `config ${difference.field}: ${JSON.stringify(difference.a)} != ${JSON.stringify(difference.b)}`;
  }
}

function show(field: EntryField, value: unknown): string {
  if (value === undefined) return '(none)';
  if (field === 'mode' && typeof value === 'number') return value.toString(8).padStart(4, '0');
  return typeof value === 'string' ? value : JSON.stringify(value);
}
