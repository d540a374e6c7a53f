import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  MediaType,
  parseManifestDocument,
  sha256Digest,
  type ImageReference,
} from '@kiln/oci-spec';
import { z } from 'zod';
import { writeFileAtomic } from './atomic-file.js';
import { isNotFound, storeFailed } from './blob-file.js';

const ReferenceRecordSchema = z.object({
  reference: z.string(),
  digest: z.string(),
  mediaType: z.string(),
  resolvedAt: z.number(),
});

/** Last resolution of an image reference: the digest and media type it pointed to, and when. */
export type ReferenceRecord = z.infer<typeof ReferenceRecordSchema>;

/** Returns the media type a stored manifest or index declares, or the OCI one for its kind. */
export function documentMediaType(bytes: Uint8Array): string | undefined {
  try {
    const document = parseManifestDocument(bytes);
    if (document.kind === 'index') return document.index.mediaType ?? MediaType.OciIndex;
    return document.manifest.mediaType ?? MediaType.OciManifest;
  } catch {
    return undefined;
  }
}

/**
 * Reference records of the base-image cache, one file per reference in
 * `references/<sha256 of reference>.json`, written by rename. An unreadable record reads as none.
 */
export class ReferenceRecords {
  readonly #directory: string;
  readonly #tmpDirectory: string;

  constructor(directory: string, tmpDirectory: string) {
    this.#directory = directory;
    this.#tmpDirectory = tmpDirectory;
  }

  #path(reference: ImageReference): string {
    return join(this.#directory, `${sha256Digest(reference.toString()).slice(7)}.json`);
  }

  async read(reference: ImageReference): Promise<ReferenceRecord | undefined> {
    const text = await readFile(this.#path(reference), 'utf8').catch((error: unknown) => {
      if (isNotFound(error)) return undefined;
      throw storeFailed('base image cache', `reading the record of ${reference.toString()}`, error);
    });
    if (text === undefined) return undefined;
    try {
      const parsed = ReferenceRecordSchema.safeParse(JSON.parse(text));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }

  async write(reference: ImageReference, digest: string, mediaType: string): Promise<void> {
    const record: ReferenceRecord = {
      reference: reference.toString(),
      digest,
      mediaType,
      resolvedAt: Date.now(),
    };
    await mkdir(this.#directory, { recursive: true });
    await writeFileAtomic(this.#path(reference), `${JSON.stringify(record)}\n`, this.#tmpDirectory);
  }
}
