import type { ChangeSet } from './change-set.js';
import { diffSnapshots } from './diff.js';
import { SnapshotError } from './errors.js';
import { findHardlinkGroups } from './hardlinks.js';
import { takeSnapshot } from './snapshot.js';
import type { Snapshotter } from './snapshotter.js';
import type { Snapshot, SnapshotOptions } from './snapshot.js';

/** A change set with the hardlink groups among its added paths. */
export interface SnapshotChangeSet extends ChangeSet {
  /** Paths of one inode, sorted; see `findHardlinkGroups`. */
  hardlinks: string[][];
}

/**
 * Finds changes in a root filesystem by walking it and comparing stat records with the last
 * baseline. Works on any file system; its cost grows with the size of the tree.
 */
export class WalkSnapshotter implements Snapshotter {
  readonly kind = 'walk';
  readonly root: string;
  readonly #options: SnapshotOptions;
  #baseline: Snapshot | undefined;

  constructor(root: string, options: SnapshotOptions = {}) {
    this.root = root;
    this.#options = options;
  }

  /** Takes the baseline; called again, it makes the current state the new baseline. */
  async init(): Promise<void> {
    this.#baseline = await takeSnapshot(this.root, { ...this.#options, previous: this.#baseline });
  }

  /** Returns what differs from the last baseline and makes the current state the new baseline. */
  async changes(): Promise<SnapshotChangeSet> {
    const before = this.#baseline;
    if (before === undefined) {
      throw new SnapshotError('NOT_INITIALIZED', `no baseline for ${this.root}`, {
        hint: 'Call init() before changes().',
      });
    }
    const after = await takeSnapshot(this.root, { ...this.#options, previous: before });
    const entries = diffSnapshots(before, after, this.#options);
    this.#baseline = after;
    return { root: this.root, entries, hardlinks: findHardlinkGroups(after, entries) };
  }

  /** The tree that steps write into: the root itself. */
  get rootfs(): string {
    return this.root;
  }

  /** Drops the baseline; the tree itself is left as it is. */
  async release(): Promise<void> {
    this.#baseline = undefined;
  }

  /** The last baseline, or undefined before `init()`. */
  get baseline(): Snapshot | undefined {
    return this.#baseline;
  }
}
