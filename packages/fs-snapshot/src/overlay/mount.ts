import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { SnapshotError } from '../errors.js';

/**
 * The directories of one overlay mount; `lowerDirs` are listed lowest first, as image layers are.
 * Without `upperDir` and `workDir` the mount is read-only and needs at least two lower directories.
 */
export interface OverlayMountSpec {
  lowerDirs: string[];
  upperDir?: string;
  workDir?: string;
  mergedDir: string;
  /**
   * Directory against which relative lower, upper and work paths are resolved. The kernel takes
   * at most one page (4096 bytes) of mount options, so short relative names fit more layers.
   */
  cwd?: string;
}

// Overlay features that store state in xattrs of the upper dir instead of plain files are turned
// off, so that the upper directory alone contains every changed file. With metacopy a chown
// leaves the data in a lower layer, and with redirect_dir a renamed directory is only an xattr.
const FIXED_OPTIONS = 'redirect_dir=off,metacopy=off,index=off';

/** Mounts an overlay file system with mount(8); raises `OVERLAY_MOUNT_FAILED` with its output. */
export async function mountOverlay(spec: OverlayMountSpec): Promise<void> {
  if (spec.lowerDirs.length === 0) {
    throw new SnapshotError(
      'OVERLAY_MOUNT_FAILED',
      `no lower directory for the overlay at ${spec.mergedDir}`,
      {
        hint: 'Pass at least one lower directory; an empty one will do for an image from scratch.',
      },
    );
  }
  const writable = spec.upperDir !== undefined && spec.workDir !== undefined;
  const dirs = writable
    ? [...spec.lowerDirs, spec.upperDir as string, spec.workDir as string]
    : spec.lowerDirs;
  for (const dir of dirs) await checkDirectory(dir, spec.cwd);
  // overlayfs lists the top layer first.
  const lower = [...spec.lowerDirs].reverse().join(':');
  const layers = writable
    ? `lowerdir=${lower},upperdir=${spec.upperDir},workdir=${spec.workDir}`
    : `lowerdir=${lower},ro`;
  const options = `${layers},${FIXED_OPTIONS}`;
  const args = (extra: string) => [
    '-t',
    'overlay',
    'overlay',
    '-o',
    `${options}${extra}`,
    spec.mergedDir,
  ];
  try {
    if (writable && volatileSupported !== false) {
      await mountVolatile(args, spec.cwd);
    } else {
      await runTool('mount', args(''), spec.cwd);
    }
  } catch (error) {
    throw new SnapshotError(
      'OVERLAY_MOUNT_FAILED',
      `failed to mount an overlay at ${spec.mergedDir}: ${messageOf(error)}`,
      {
        hint: 'Overlay mounts need root (or CAP_SYS_ADMIN) and an upper directory on a file system other than overlayfs; use the walk snapshotter otherwise.',
        cause: error,
      },
    );
  }
}

// Whether the kernel accepts `volatile` (Linux 5.10 and later); undefined until the first mount.
let volatileSupported: boolean | undefined;

/**
 * Mounts with `volatile`, which skips the sync of the whole upper file system that unmounting
 * an overlay otherwise performs: a step's upper directory is scratch space until its layer is
 * written. Falls back to a plain mount once if the kernel rejects the option.
 */
async function mountVolatile(
  args: (extra: string) => string[],
  cwd: string | undefined,
): Promise<void> {
  try {
    await runTool('mount', args(',volatile'), cwd);
    volatileSupported = true;
  } catch (error) {
    if (volatileSupported === true) throw error;
    await runTool('mount', args(''), cwd);
    volatileSupported = false;
  }
}

/**
 * Unmounts `mergedDir`, retrying a few times while it is busy, because a process of the last step
 * may still be exiting. Raises `OVERLAY_UNMOUNT_FAILED` when it stays mounted.
 */
export async function unmount(mergedDir: string): Promise<void> {
  const attempts = 5;
  for (let attempt = 1; ; attempt++) {
    try {
      await runTool('umount', [mergedDir]);
      return;
    } catch (error) {
      if (attempt >= attempts) {
        throw new SnapshotError(
          'OVERLAY_UNMOUNT_FAILED',
          `failed to unmount ${mergedDir}: ${messageOf(error)}`,
          {
            hint: 'Stop the processes that still use the directory (see `fuser -m`), then unmount it by hand.',
            cause: error,
          },
        );
      }
      await sleep(20 * attempt);
    }
  }
}

/** Rejects a directory that is missing or whose name cannot be passed in mount options. */
async function checkDirectory(path: string, cwd: string | undefined): Promise<void> {
  // mount(8) splits options at commas and overlayfs splits lowerdir at colons.
  if (/[,:\\]/.test(path)) {
    throw new SnapshotError(
      'OVERLAY_MOUNT_FAILED',
      `overlay directory ${JSON.stringify(path)} contains ',', ':' or '\\'`,
      {
        hint: 'Choose a work directory whose path has none of these characters.',
      },
    );
  }
  const absolute = resolvePath(cwd ?? process.cwd(), path);
  const isDirectory = await stat(absolute).then(
    (stats) => stats.isDirectory(),
    () => false,
  );
  if (!isDirectory) {
    throw new SnapshotError(
      'OVERLAY_MOUNT_FAILED',
      `overlay directory ${absolute} does not exist or is not a directory`,
      {
        hint: 'Create the lower, upper and work directories before mounting.',
      },
    );
  }
}

function runTool(command: string, args: string[], cwd?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd }, (error, _stdout, stderr) => {
      if (error === null) resolve();
      else reject(Object.assign(error, { stderr: String(stderr).trim() }));
    });
  });
}

function messageOf(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const { stderr, message } = error as { stderr?: unknown; message?: unknown };
    if (typeof stderr === 'string' && stderr !== '') return stderr.replace(/\s+/g, ' ');
    if (typeof message === 'string') return message;
  }
  return String(error);
}
