import { readdir, readFile, rm, stat, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { isValidDigest } from '@kiln/oci-spec';

export interface PruneOptions {
  /** Remove least recently used records until the blobs they reference fit in this many bytes. */
  maxBytes?: number;
  /** Remove records not used for this many milliseconds. */
  maxAgeMs?: number;
  /**
   * Leave unreferenced blobs and temporary files younger than this many milliseconds, because a
   * concurrent `put` may be about to write their record. Default 10 minutes.
   */
  graceMs?: number;
  /** Current time in milliseconds since the epoch; defaults to `Date.now()`. */
  now?: number;
}

export interface PruneResult {
  removedRecords: number;
  removedBlobs: number;
  /** Bytes of blobs removed. */
  freedBytes: number;
  /** Bytes of blobs still referenced by a record. */
  keptBytes: number;
}

interface RecordFile {
  path: string;
  /** Last use: set when the record is written and on every hit. */
  lastUsedMs: number;
  digest: string | undefined;
}

const DEFAULT_GRACE_MS = 10 * 60 * 1000;

// Lists regular files below `directory`; a missing directory has none.
async function listFiles(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { withFileTypes: true }).catch(() => []);
  const files: string[] = [];
  for (const entry of entries) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) files.push(...(await listFiles(path)));
    else if (entry.isFile()) files.push(path);
  }
  return files;
}

async function readRecordFile(path: string): Promise<RecordFile | undefined> {
  try {
    const [info, text] = await Promise.all([stat(path), readFile(path, 'utf8')]);
    const digest = (JSON.parse(text) as { descriptor?: { digest?: unknown } }).descriptor?.digest;
    return { path, lastUsedMs: info.mtimeMs, digest: isValidDigest(digest) ? digest : undefined };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    // An unreadable record is useless; keep it in the list without a digest so that it is removed.
    return { path, lastUsedMs: 0, digest: undefined };
  }
}

function blobDigest(root: string, path: string): string {
  const [algorithm, encoded] = path.slice(join(root, 'blobs').length + 1).split('/');
  return `${algorithm}:${encoded}`;
}

/**
 * Removes records of a local store by age and least recent use, then blobs no record references.
 * NOTE: a record written between the listing and the blob removal can lose its blob; its next
 * `get` then reads as corrupt (a miss), never as a wrong hit.
 */
export async function pruneLocalDirectory(
  root: string,
  options: PruneOptions = {},
): Promise<PruneResult> {
  const now = options.now ?? Date.now();
  const grace = options.graceMs ?? DEFAULT_GRACE_MS;
  const result: PruneResult = { removedRecords: 0, removedBlobs: 0, freedBytes: 0, keptBytes: 0 };

  const blobSizes = new Map<string, { path: string; size: number; modifiedMs: number }>();
  for (const path of await listFiles(join(root, 'blobs'))) {
    const info = await stat(path).catch(() => undefined);
    if (info !== undefined)
      blobSizes.set(blobDigest(root, path), { path, size: info.size, modifiedMs: info.mtimeMs });
  }

  const records = (
    await Promise.all((await listFiles(join(root, 'keys'))).map(readRecordFile))
  ).filter((record): record is RecordFile => record !== undefined);
  records.sort((left, right) => left.lastUsedMs - right.lastUsedMs);

  const references = new Map<string, number>();
  for (const record of records) {
    if (record.digest !== undefined)
      references.set(record.digest, (references.get(record.digest) ?? 0) + 1);
  }
  let referencedBytes = 0;
  for (const digest of references.keys()) referencedBytes += blobSizes.get(digest)?.size ?? 0;

  for (const record of records) {
    const tooOld = options.maxAgeMs !== undefined && now - record.lastUsedMs > options.maxAgeMs;
    const tooBig = options.maxBytes !== undefined && referencedBytes > options.maxBytes;
    if (record.digest !== undefined && !tooOld && !tooBig) continue;
    await unlink(record.path).catch(() => undefined);
    result.removedRecords += 1;
    if (record.digest === undefined) continue;
    const remaining = (references.get(record.digest) ?? 1) - 1;
    references.set(record.digest, remaining);
    if (remaining === 0) referencedBytes -= blobSizes.get(record.digest)?.size ?? 0;
  }

  for (const [digest, blob] of blobSizes) {
    if ((references.get(digest) ?? 0) > 0) {
      result.keptBytes += blob.size;
      continue;
    }
    const referencedBefore = references.has(digest);
    if (!referencedBefore && now - blob.modifiedMs < grace) continue;
    await unlink(blob.path).catch(() => undefined);
    result.removedBlobs += 1;
    result.freedBytes += blob.size;
  }

  // A slot entry is named after the sha256 of its key, like the record file it points to.
  for (const path of await listFiles(join(root, 'slots'))) {
    const hex = basename(path);
    const recordPath = join(root, 'keys', hex.slice(0, 2), `${hex}.json`);
    if ((await stat(recordPath).catch(() => undefined)) === undefined)
      await unlink(path).catch(() => undefined);
  }

  for (const path of await listFiles(join(root, 'tmp'))) {
    const info = await stat(path).catch(() => undefined);
    if (info !== undefined && now - info.mtimeMs >= grace) await rm(path, { force: true });
  }
  return result;
}
