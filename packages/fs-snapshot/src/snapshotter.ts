import type { SnapshotChangeSet } from './walk-snapshotter.js';

/**
 * The interface through which the build engine learns a step's changes, whichever way they are found. Steps read
 * and write `rootfs`, which is `root` itself for the walk snapshotter and an overlay mount of it
 * for the overlay one.
 */
export interface Snapshotter {
  readonly kind: 'overlay' | 'walk';
  readonly root: string;
  readonly rootfs: string;
  /**
   * Takes the baseline before the first step. Called again, it makes the current state the new
   * baseline, for changes that reach the image another way (a COPY that knows what it wrote).
   */
  init(): Promise<void>;
  /**
   * Returns what the steps since the last call changed and starts a new step. Write the layer
   * before the next step writes to `rootfs`, because the walk snapshotter's change set is rooted
   * at the live tree. The overlay one's stays readable until the next `changes()` or `release()`.
   */
  changes(): Promise<SnapshotChangeSet>;
  /** Frees mounts and directories; call it also after a failed build. */
  release(): Promise<void>;
}
