import { SnapshotError } from './errors.js';
import { LayeredOverlaySnapshotter } from './overlay/layered-overlay.js';
import { probeOverlay } from './overlay/probe.js';
import type { SnapshotOptions } from './snapshot.js';
import type { Snapshotter } from './snapshotter.js';
import { WalkSnapshotter } from './walk-snapshotter.js';

/** Typed progress events of {@link createSnapshotter}. */
export type SnapshotterEvent = { type: 'overlay-unavailable'; workDir: string; reason: string };

/** Options of {@link createSnapshotter}. */
export interface CreateSnapshotterOptions extends SnapshotOptions {
  /** Directory for overlay mounts and step directories; it must not be on overlayfs. */
  workDir: string;
  /** 'auto' (default) uses overlay where the probe succeeds, else walk; 'overlay' raises instead of falling back. */
  mode?: 'auto' | 'overlay' | 'walk';
  /** Receives `overlay-unavailable` once per work directory and process, when auto mode falls back. */
  onEvent?: (event: SnapshotterEvent) => void;
}

const reportedFallbacks = new Set<string>();

/**
 * Returns an overlay snapshotter where an overlay can be mounted under `workDir` (probed once per
 * process), and a walk snapshotter otherwise. `changeDetection` applies to the walk snapshotter
 * only, because the overlay one takes every path written to the upper directory as changed. Call `init()` on the result before the first step.
 */
export async function createSnapshotter(
  root: string,
  options: CreateSnapshotterOptions,
): Promise<Snapshotter> {
  const mode = options.mode ?? 'auto';
  if (mode === 'walk') return new WalkSnapshotter(root, options);

  const probe = await probeOverlay(options.workDir);
  if (probe.available) {
    const overlayOptions = {
      workDir: options.workDir,
      ignorePaths: options.ignorePaths,
      ignoreSystemPaths: options.ignoreSystemPaths,
    };
    return new LayeredOverlaySnapshotter(root, overlayOptions);
  }

  const reason = probe.reason ?? 'unknown reason';
  if (mode === 'overlay') {
    throw new SnapshotError(
      'OVERLAY_UNAVAILABLE',
      `overlay snapshots are unavailable under ${options.workDir}: ${reason}`,
      {
        hint: 'Run as root on a kernel with overlayfs and a work directory not on overlayfs, or use the walk snapshotter.',
      },
    );
  }
  if (!reportedFallbacks.has(options.workDir)) {
    reportedFallbacks.add(options.workDir);
    options.onEvent?.({ type: 'overlay-unavailable', workDir: options.workDir, reason });
  }
  return new WalkSnapshotter(root, options);
}
