import { lstat, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { mountOverlay, unmount } from './mount.js';

/** Result of {@link probeOverlay}. */
export interface OverlayProbe {
  available: boolean;
  /** The reason overlay snapshots cannot be used here, when `available` is false. */
  reason?: string;
}

const probes = new Map<string, Promise<OverlayProbe>>();

/**
 * Tries an overlay mount under `workDir` and checks that deleting a lower file leaves an overlay
 * whiteout (a character device 0/0) in the upper directory. The result is cached per `workDir`
 * for the life of the process. Unmounts and removes everything it made, also on failure.
 */
export function probeOverlay(workDir: string): Promise<OverlayProbe> {
  let probe = probes.get(workDir);
  if (probe === undefined) {
    probe = runProbe(workDir);
    probes.set(workDir, probe);
  }
  return probe;
}

async function runProbe(workDir: string): Promise<OverlayProbe> {
  if (process.platform !== 'linux')
    return { available: false, reason: `overlayfs needs Linux, not ${process.platform}` };
  let dir: string | undefined;
  let mergedDir: string | undefined;
  try {
    await mkdir(workDir, { recursive: true });
    dir = await mkdtemp(join(workDir, 'ovl-probe-'));
    const [lowerDir, upperDir, overlayWorkDir, merged] = ['lower', 'upper', 'work', 'merged'].map(
      (name) => join(dir as string, name),
    ) as [string, string, string, string];
    await Promise.all([mkdir(lowerDir), mkdir(upperDir), mkdir(overlayWorkDir), mkdir(merged)]);
    await writeFile(join(lowerDir, 'file'), 'lower');
    await mountOverlay({
      lowerDirs: [lowerDir],
      upperDir,
      workDir: overlayWorkDir,
      mergedDir: merged,
    });
    mergedDir = merged;
    await rm(join(merged, 'file'));
    const whiteout = await lstat(join(upperDir, 'file'));
    if (!whiteout.isCharacterDevice() || whiteout.rdev !== 0) {
      return {
        available: false,
        reason: 'overlayfs did not record a deletion as a 0/0 character device',
      };
    }
    return { available: true };
  } catch (error) {
    return { available: false, reason: error instanceof Error ? error.message : String(error) };
  } finally {
    // A directory that is still mounted is left in place: removing it would reach into the mount.
    const unmounted =
      mergedDir === undefined ||
      (await unmount(mergedDir).then(
        () => true,
        () => false,
      ));
    if (dir !== undefined && unmounted)
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}
