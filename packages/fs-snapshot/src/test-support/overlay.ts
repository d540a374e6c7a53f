import { tmpdir } from 'node:os';

import { probeOverlay } from '../overlay/probe.js';

/** True when this process can mount overlays under the temp directory, so overlay tests can run. */
export async function canMountOverlay(): Promise<boolean> {
  if (process.getuid?.() !== 0) return false;
  return (await probeOverlay(tmpdir())).available;
}
