import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** Cache mount directories in use by RUN commands of this process, with their user count. */
const inUse = new Map<string, number>();
/** Exclusive holders in this process, so `locked` waits for the one before it. */
const exclusive = new Map<string, Promise<void>>();

const POLL_MS = 50;

/** Marks `dir` as used until the returned release runs; `private` mounts ask whether it is free. */
export function useCacheDir(dir: string): () => void {
  inUse.set(dir, (inUse.get(dir) ?? 0) + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const count = (inUse.get(dir) ?? 1) - 1;
    if (count === 0) inUse.delete(dir);
    else inUse.set(dir, count);
  };
}

/**
 * Picks the first instance of a `sharing=private` cache that no RUN of this process uses:
 * `base` itself, then `base#1`, `base#2`, ... and marks it used until the release runs. Every
 * instance stays on disk, so a later build that finds `base` busy reuses the next one. The pick and the mark happen without an await, so two concurrent RUNs never get the
 * same instance. `#` never occurs in a name that encodeURIComponent made, so no id collides.
 * NOTE: RUNs of another kiln process on the same cache directory are not seen, so they may share.
 */
export function claimPrivateCacheDir(base: string): { dir: string; release: () => void } {
  let dir = base;
  for (let instance = 1; cacheDirInUse(dir); instance += 1) dir = `${base}#${instance}`;
  return { dir, release: useCacheDir(dir) };
}

/** Tells whether a RUN of this process has `dir` mounted now. */
export function cacheDirInUse(dir: string): boolean {
  return (inUse.get(dir) ?? 0) > 0;
}

/**
 * Takes the exclusive lock of a `sharing=locked` cache directory: one RUN at a time in this
 * process (queued in order) and across processes (a `<dir>.lock` directory holding the owner's
 * pid; a lock whose process is gone is taken over). Returns the release function.
 */
export async function lockCacheDir(
  dir: string,
  signal?: AbortSignal,
): Promise<() => Promise<void>> {
  const before = exclusive.get(dir) ?? Promise.resolve();
  let releaseLocal = (): void => {};
  const mine = new Promise<void>((resolve) => {
    releaseLocal = resolve;
  });
  const chained = before.then(() => mine);
  exclusive.set(dir, chained);
  await before;

  const lockDir = `${dir}.lock`;
  try {
    await mkdir(path.dirname(lockDir), { recursive: true });
    for (;;) {
      signal?.throwIfAborted();
      try {
        await mkdir(lockDir);
        await writeFile(path.join(lockDir, 'pid'), String(process.pid));
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        if (await ownerIsGone(lockDir)) {
          await rm(lockDir, { recursive: true, force: true });
          continue;
        }
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    }
  } catch (error) {
    releaseLocal();
    if (exclusive.get(dir) === chained) exclusive.delete(dir);
    throw error;
  }
  return async () => {
    await rm(lockDir, { recursive: true, force: true });
    releaseLocal();
    if (exclusive.get(dir) === chained) exclusive.delete(dir);
  };
}

/** True when the lock names a process that no longer runs (a crashed build left it behind). */
async function ownerIsGone(lockDir: string): Promise<boolean> {
  const text = await readFile(path.join(lockDir, 'pid'), 'utf8').catch(() => undefined);
  // A lock without a pid file may be one being created right now; it is not taken over.
  if (text === undefined) return false;
  const pid = Number(text);
  if (!Number.isInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
