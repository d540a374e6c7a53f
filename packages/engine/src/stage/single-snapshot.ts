import type { Snapshotter } from '@kiln/fs-snapshot';
import type { SnapshotChangeSet } from '@kiln/fs-snapshot';
import type { StageRun } from './stage-run.js';

/**
 * The snapshotter that steps see under `--single-snapshot`: it reports no changes, so each step
 * adds an empty-layer history entry, while the wrapped snapshotter keeps the stage's baseline
 * until the stage ends. Releasing it releases the wrapped one.
 */
export class DeferredSnapshotter implements Snapshotter {
  readonly kind: Snapshotter['kind'];
  readonly root: string;
  readonly rootfs: string;
  readonly #stage: Snapshotter;

  constructor(stage: Snapshotter) {
    this.#stage = stage;
    this.kind = stage.kind;
    this.root = stage.root;
    this.rootfs = stage.rootfs;
  }

  /** Keeps the stage's baseline, which the stage snapshotter took before the first step. */
  async init(): Promise<void> {}

  /** Returns an empty change set; the stage's changes are taken once, after its last step. */
  async changes(): Promise<SnapshotChangeSet> {
    return { root: this.rootfs, entries: [], hardlinks: [] };
  }

  release(): Promise<void> {
    return this.#stage.release();
  }
}

/**
 * Removes from the stage's change set the directories that only RUN placeholders touched. A
 * RUN creates empty mount points such as /etc/resolv.conf and removes them afterwards, which
 * changes /etc's times. Per-step snapshots take their baseline after the placeholders exist, so
 * they never show this. A directory stays when a command changed it or a path below it changed.
 */
export function withoutPlaceholderDirs(
  changes: SnapshotChangeSet,
  placeholderDirs: StageRun['placeholderDirs'],
): SnapshotChangeSet {
  const untouched = [...(placeholderDirs ?? [])]
    .filter(([dir, onlyPlaceholders]) => onlyPlaceholders && dir !== '')
    .map(([dir]) => dir);
  if (untouched.length === 0) return changes;
  // A path below the directory, or an opaque or delete entry for it, is a real change.
  const changedOnlyItself = (dir: string): boolean =>
    changes.entries.every((entry) =>
      entry.path === dir ? entry.kind === 'add' : !entry.path.startsWith(`${dir}/`),
    );
  const drop = new Set(untouched.filter(changedOnlyItself));
  return { ...changes, entries: changes.entries.filter((entry) => !drop.has(entry.path)) };
}
