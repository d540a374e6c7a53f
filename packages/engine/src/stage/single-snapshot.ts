import type { Snapshotter } from '@kiln/fs-snapshot';
import type { SnapshotChangeSet } from '@kiln/fs-snapshot';

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
