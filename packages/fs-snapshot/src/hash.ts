import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';

import { errnoCode, SnapshotError } from './errors.js';

/** Returns "sha256:<hex>" of a file's content, streamed, or undefined when the file is gone. */
export async function hashFile(path: string): Promise<string | undefined> {
  const hash = createHash('sha256');
  try {
    await pipeline(createReadStream(path), hash);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw new SnapshotError('HASH_FAILED', `failed to hash ${path} while taking a snapshot`, {
      hint: 'Check that the process may read the file, or add its path to ignorePaths.',
      cause: error,
    });
  }
  return `sha256:${hash.digest('hex')}`;
}
