import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

import { SnapshotError } from '../errors.js';
import { IgnoreList } from '../ignore.js';
import type { SnapshotChangeSet } from '../walk-snapshotter.js';
import { mountOverlay, unmount } from './mount.js';
import { changeSetFromUpperDir } from './upper-changes.js';

/** Options of an {@link OverlaySnapshotter}. */
export interface OverlaySnapshotterOptions {
  /** Directory under which the snapshotter makes its own directories; must not be on overlayfs. */
  workDir: string;
  /** Paths inside the root filesystem to leave out of change sets, like '/var/cache/kiln'. */
  ignorePaths?: string[];
  /** Leave '/proc', '/sys' and '/dev' out of change sets; default true. */
  ignoreSystemPaths?: boolean;
}

/** Directory locations for {@link OverlaySnapshotter.prepare}. */
export interface OverlayPrepareOptions {
  /** Upper directory to write into, created if missing and then required to be empty; the caller owns it. */
  upperDir?: string;
  /** Mount point, created if missing; the caller owns it. */
  mergedDir?: string;
  /** Directory that relative `lowerDirs` are resolved against (and short names keep the mount options small). */
  cwd?: string;
}

/** The directories of a prepared overlay. */
export interface PreparedOverlay {
  /** The root filesystem that the step reads and writes. */
  mergedDir: string;
  /** The directory that receives the step's changes. */
  upperDir: string;
}

type State = 'new' | 'mounted' | 'committed' | 'released';

/**
 * Captures one step's changes with an overlay mount. `prepare()` mounts a fresh upper directory
 * over the lower directories and the step writes into the merged directory. `commit()` unmounts
 * it, mounts a read-only view of the result and returns the upper directory's entries as a change
 * set rooted at that view. `release()` unmounts (also after a failure) and removes what the
 * snapshotter created; a caller-owned upper or merged directory is kept.
 */
export class OverlaySnapshotter {
  readonly #options: OverlaySnapshotterOptions;
  #state: State = 'new';
  #ownDir: string | undefined;
  #lowerDirs: string[] = [];
  #cwd: string | undefined;
  #mergedDir: string | undefined;
  #upperDir: string | undefined;
  #viewDir: string | undefined;

  constructor(options: OverlaySnapshotterOptions) {
    this.#options = options;
  }

  /** Mounts a fresh upper directory over `lowerDirs`, which are listed lowest first. */
  async prepare(
    lowerDirs: string[],
    options: OverlayPrepareOptions = {},
  ): Promise<PreparedOverlay> {
    this.#expectState('new', 'prepare');
    await mkdir(this.#options.workDir, { recursive: true });
    this.#ownDir = await mkdtemp(join(this.#options.workDir, 'ovl-'));
    const upperDir = options.upperDir ?? join(this.#ownDir, 'upper');
    const mergedDir = options.mergedDir ?? join(this.#ownDir, 'merged');
    const overlayWorkDir = join(this.#ownDir, 'work');
    await mkdir(upperDir, { recursive: true });
    await expectEmpty(upperDir);
    await mkdir(mergedDir, { recursive: true });
    await mkdir(overlayWorkDir);
    this.#lowerDirs = [...lowerDirs];
    this.#cwd = options.cwd;
    this.#upperDir = upperDir;
    this.#mergedDir = mergedDir;

    await mountOverlay({
      lowerDirs,
      upperDir,
      workDir: overlayWorkDir,
      mergedDir,
      cwd: options.cwd,
    });
    this.#state = 'mounted';
    return { mergedDir, upperDir };
  }

  /**
   * Unmounts the step's overlay and returns its changes. The entries come from the upper
   * directory; their content is read from a read-only view of the step's result, which stays
   * mounted until `release()`.
   */
  async commit(): Promise<SnapshotChangeSet> {
    this.#expectState('mounted', 'commit');
    const upperDir = this.#upperDir as string;
    await unmount(this.#mergedDir as string);
    this.#state = 'committed';

    const viewDir = join(this.#ownDir as string, 'view');
    await mkdir(viewDir);
    await mountOverlay({
      lowerDirs: [...this.#lowerDirs, upperDir],
      mergedDir: viewDir,
      cwd: this.#cwd,
    });
    this.#viewDir = viewDir;

    const ignore = await IgnoreList.load(upperDir, { ...this.#options, ignoreMounts: false });
    return changeSetFromUpperDir(upperDir, ignore, viewDir);
  }

  /** Unmounts whatever is still mounted and removes the snapshotter's own directories; safe to call twice. */
  async release(): Promise<void> {
    if (this.#state === 'released') return;
    if (this.#state === 'mounted') await unmount(this.#mergedDir as string);
    if (this.#viewDir !== undefined) await unmount(this.#viewDir);
    this.#state = 'released';
    if (this.#ownDir !== undefined) await rm(this.#ownDir, { recursive: true, force: true });
  }

  /** The upper directory, once prepared; a later mount may use it as a lower directory. */
  get upperDir(): string | undefined {
    return this.#upperDir;
  }

  #expectState(expected: State, operation: string): void {
    if (this.#state !== expected) {
      throw new SnapshotError(
        'OVERLAY_STATE',
        `cannot ${operation} an overlay snapshotter that is ${this.#state}`,
        {
          hint: 'Call prepare(), then commit(), then release(), once each; make a new snapshotter per step.',
        },
      );
    }
  }
}

async function expectEmpty(dir: string): Promise<void> {
  const names = await readdir(dir);
  if (names.length > 0) {
    throw new SnapshotError('OVERLAY_STATE', `upper directory ${dir} is not empty`, {
      hint: 'Pass a new or empty directory as upperDir; an upper directory records exactly one step.',
    });
  }
}
