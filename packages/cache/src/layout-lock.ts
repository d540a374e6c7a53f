import { open, readFile, stat, unlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { CacheError } from './errors.js';

export interface LockOptions {
  /** Give up after this many milliseconds of waiting. Default 30000. */
  timeoutMs?: number;
  /** A lock file older than this many milliseconds is taken to belong to a crashed writer. Default 60000. */
  staleMs?: number;
}

// Holders in this process queue here, so that only one of them at a time polls the lock file.
const queues = new Map<string, Promise<unknown>>();

/**
 * Runs `action` while holding an exclusive lock file. The file is created with O_EXCL, so only
 * one process at a time has it, and others wait with growing delays.
 */
export function withLockFile<T>(
  lockPath: string,
  action: () => Promise<T>,
  options: LockOptions = {},
): Promise<T> {
  const previous = queues.get(lockPath) ?? Promise.resolve();
  const next = previous.then(() => holdLockFile(lockPath, action, options));
  const settled = next.catch(() => undefined);
  queues.set(lockPath, settled);
  void settled.then(() => {
    if (queues.get(lockPath) === settled) queues.delete(lockPath);
  });
  return next;
}

async function holdLockFile<T>(
  lockPath: string,
  action: () => Promise<T>,
  options: LockOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const staleMs = options.staleMs ?? 60_000;
  const token = `${process.pid}:${Math.random().toString(36).slice(2)}`;
  const deadline = Date.now() + timeoutMs;
  let delay = 5;

  for (;;) {
    try {
      const handle = await open(lockPath, 'wx', 0o644);
      try {
        await handle.writeFile(token);
      } finally {
        await handle.close();
      }
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const info = await stat(lockPath).catch(() => undefined);
    if (info !== undefined && Date.now() - info.mtimeMs > staleMs) {
      await unlink(lockPath).catch(() => undefined);
      continue;
    }
    if (Date.now() > deadline) {
      throw new CacheError('STORE_FAILED', `timed out waiting for the lock ${lockPath}`, {
        hint: `Another build holds the lock; if none runs, remove ${lockPath}.`,
      });
    }
    await sleep(delay);
    delay = Math.min(delay * 2, 50);
  }

  try {
    return await action();
  } finally {
    // Only the holder's own lock is removed, in case a stale-lock breaker replaced it.
    if ((await readFile(lockPath, 'utf8').catch(() => undefined)) === token)
      await unlink(lockPath).catch(() => undefined);
  }
}
