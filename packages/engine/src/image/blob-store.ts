import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { parseDigest } from '@kiln/oci-spec';
import { writeFileAtomic } from '../util/atomic-file.js';

/**
 * Content-addressed blobs under `dir/sha256/<hex>`: base layers downloaded once and reused by later
 * builds with the same work dir, and the layers, configs and manifests a build writes.
 */
export class BlobStore {
  /** Blobs kept elsewhere (the base-image cache), by digest, used in place of a copy. */
  readonly #linked = new Map<string, string>();

  constructor(readonly dir: string) {}

  /** Serves `digest` from `file`, a verified blob that another cache keeps, without copying it. */
  link(digest: string, file: string): void {
    this.#linked.set(digest, file);
  }

  /** Host path of the blob with `digest`, present or not. */
  path(digest: string): string {
    const linked = this.#linked.get(digest);
    if (linked !== undefined) return linked;
    const { algorithm, encoded } = parseDigest(digest);
    return path.join(this.dir, algorithm, encoded);
  }

  async has(digest: string): Promise<boolean> {
    const stats = await stat(this.path(digest)).catch(() => undefined);
    return stats?.isFile() ?? false;
  }

  open(digest: string): Readable {
    return createReadStream(this.path(digest));
  }

  /** Stores `data` (already hashed by the caller as `digest`). */
  async put(digest: string, data: string | Uint8Array): Promise<void> {
    const target = this.path(digest);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFileAtomic(target, data);
  }

  /** Moves a finished file (for example a layer that writeLayer produced) into the store. */
  async adopt(digest: string, file: string): Promise<void> {
    // A linked blob has the same content already; renaming over it would change another cache.
    if (this.#linked.has(digest)) return rm(file, { force: true });
    const target = this.path(digest);
    await mkdir(path.dirname(target), { recursive: true });
    await rename(file, target);
  }
}
