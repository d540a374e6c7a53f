import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** Returns a fresh path in `directory` for a temporary file (unique across processes). */
export function temporaryPath(directory: string): string {
  return join(directory, `${process.pid}-${randomUUID()}.tmp`);
}

/** Writes `data` to `path` through a temporary file in `tmpDirectory` and a rename. */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  tmpDirectory: string,
): Promise<void> {
  await mkdir(tmpDirectory, { recursive: true });
  const temporary = temporaryPath(tmpDirectory);
  try {
    const handle = await open(temporary, 'wx', 0o644);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/**
 * Streams `source` through `stages` into a temporary file and returns its path; the caller renames
 * it into place or removes it. The temporary file is removed when the pipeline fails.
 */
export async function streamToTemporaryFile(
  source: Readable | AsyncIterable<Uint8Array>,
  stages: Transform[],
  tmpDirectory: string,
): Promise<string> {
  await mkdir(tmpDirectory, { recursive: true });
  const temporary = temporaryPath(tmpDirectory);
  try {
    const readable = source instanceof Readable ? source : Readable.from(source);
    await pipeline([
      readable,
      ...stages,
      createWriteStream(temporary, { flags: 'wx', mode: 0o644 }),
    ]);
    return temporary;
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
