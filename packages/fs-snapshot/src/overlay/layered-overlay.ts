import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';

import { SnapshotError } from '../errors.js';
import type { Snapshotter } from '../snapshotter.js';
import type { SnapshotChangeSet } from '../walk-snapshotter.js';
import { OverlaySnapshotter } from './overlay-snapshotter.js';
import type { OverlaySnapshotterOptions } from './overlay-snapshotter.js';

/**
 * A {@link Snapshotter} that stacks one overlay upper directory per step on top of `root`.
 * Each `changes()` unmounts the step's overlay and returns its upper directory's entries as the
 * change set, then mounts the same merged directory again with that upper directory added as a
 * read-only lower one.
 * Its cost grows with what a step changed, not with the size of the tree.
 */
export class LayeredOverlaySnapshotter implements Snapshotter {
  readonly kind = 'overlay';
  readonly root: string;
  readonly #options: OverlaySnapshotterOptions;
  #stackDir: string | undefined;
  #mergedDir: string | undefined;
  // Lowest first: the root itself (absolute), then step directories relative to the stack directory.
  readonly #lowerDirs: string[] = [];
  #current: OverlaySnapshotter | undefined;
  // The last step's snapshotter, whose read-only view backs the change set returned last.
  #committed: OverlaySnapshotter | undefined;

  constructor(root: string, options: OverlaySnapshotterOptions) {
    this.root = root;
    this.#options = options;
  }

  /** The merged directory that steps read and write; defined after `init()`. */
  get rootfs(): string {
    if (this.#mergedDir === undefined) throw notInitialized('rootfs');
    return this.#mergedDir;
  }

  /**
   * Mounts the first overlay over `root`, which stays untouched from then on. Called again, it
   * makes the current state the baseline: the step's upper directory becomes a lower one and
   * its changes are not returned.
   */
  async init(): Promise<void> {
    if (this.#current !== undefined) {
      await this.#advance();
      return;
    }
    await mkdir(this.#options.workDir, { recursive: true });
    this.#stackDir = await mkdtemp(join(this.#options.workDir, 'stack-'));
    this.#mergedDir = join(this.#stackDir, 'rootfs');
    this.#lowerDirs.push(this.root);
    await this.#mountNext();
  }

  /**
   * Returns the changes of the step since the last call, rooted at a read-only view of the
   * step's result that stays mounted until the next `changes()`, `init()` or `release()`.
   */
  async changes(): Promise<SnapshotChangeSet> {
    return this.#advance();
  }

  async #advance(): Promise<SnapshotChangeSet> {
    const current = this.#current;
    if (current === undefined) throw notInitialized('changes()');
    await this.#committed?.release();
    this.#committed = undefined;
    const changeSet = await current.commit();
    this.#committed = current;
    this.#current = undefined;
    this.#lowerDirs.push(String(this.#lowerDirs.length));
    await this.#mountNext();
    return changeSet;
  }

  /** Unmounts and removes every step directory, so change sets returned earlier become invalid. */
  async release(): Promise<void> {
    await this.#current?.release();
    this.#current = undefined;
    await this.#committed?.release();
    this.#committed = undefined;
    if (this.#stackDir !== undefined) await rm(this.#stackDir, { recursive: true, force: true });
    this.#stackDir = undefined;
  }

  // NOTE: overlayfs stacks at most 500 lower directories, so a build with more steps than that
  // fails to mount; merging old upper directories into one is not implemented.
  async #mountNext(): Promise<void> {
    const stackDir = this.#stackDir as string;
    const upperDir = join(stackDir, String(this.#lowerDirs.length));
    const next = new OverlaySnapshotter(this.#options);
    this.#current = next;
    await next.prepare(this.#lowerDirs, {
      upperDir,
      mergedDir: this.#mergedDir as string,
      cwd: stackDir,
    });
  }
}

function notInitialized(what: string): SnapshotError {
  return new SnapshotError(
    'NOT_INITIALIZED',
    `${what} of an overlay snapshotter is used before init()`,
    {
      hint: 'Call init() first.',
    },
  );
}
