import { lutimes } from 'node:fs/promises';
import path from 'node:path';
import type { ChangeSet } from '@kiln/layer-writer';

/**
 * Sets the mtime of every path a COPY, ADD or WORKDIR wrote to the layer's fixed reproducible time
 * (SOURCE_DATE_EPOCH, else 0). A cache hit applies the stored layer, which carries that time, so a
 * later RUN that reads mtimes (make, Python's .pyc headers) must see the same after a run.
 * NOTE: files a RUN writes keep their real times in the root filesystem, so a later RUN that reads
 * those can still differ between a cache hit and a run.
 */
export async function fixReproducibleTimes(changes: ChangeSet): Promise<void> {
  const configured = process.env['SOURCE_DATE_EPOCH'];
  const epoch = configured !== undefined && configured !== '' ? Number(configured) : 0;
  // writeLayer rejects an invalid epoch with a clear error right after this, so skip it here.
  if (!Number.isSafeInteger(epoch) || epoch < 0) return;
  for (const entry of changes.entries) {
    if (entry.kind !== 'add') continue;
    await lutimes(path.join(changes.root, entry.path), epoch, epoch).catch(() => undefined);
  }
}
