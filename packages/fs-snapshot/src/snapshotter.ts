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
  /** Takes the baseline; call it once before the first step. */
  init(): Promise<void>;
  /**
   * Returns what the steps since the last call changed and starts a new step. The change set
   * stays readable until the next call to `changes()` or `release()`.
   */
  changes(): Promise<SnapshotChangeSet>;
  /** Frees mounts and directories; call it also after a failed build. */
  release(): Promise<void>;
}
