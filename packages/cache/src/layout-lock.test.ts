import { mkdtemp, readdir, rm, unlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withLockFile } from './layout-lock.js';

describe('withLockFile', () => {
  let directory: string;
  let lockPath: string;

  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'kiln-lock-'));
    lockPath = join(directory, 'index.json.lock');
  });
  afterEach(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('waits for a lock another process holds', async () => {
    await writeFile(lockPath, 'other process');
    let ran = false;
    const waiting = withLockFile(lockPath, async () => {
      ran = true;
    });
    await new Promise((resolveDelay) => setTimeout(resolveDelay, 50));
    expect(ran).toBe(false);
    await unlink(lockPath);
    await waiting;
    expect(ran).toBe(true);
    expect(await readdir(directory)).toEqual([]);
  });

  it('breaks a stale lock', async () => {
    await writeFile(lockPath, 'crashed process');
    const old = new Date(Date.now() - 120_000);
    await utimes(lockPath, old, old);
    expect(await withLockFile(lockPath, async () => 'done')).toBe('done');
  });

  it('times out on a held lock', async () => {
    await writeFile(lockPath, 'other process');
    await expect(
      withLockFile(lockPath, async () => 'never', { timeoutMs: 30 }),
    ).rejects.toMatchObject({
      code: 'STORE_FAILED',
    });
  });

  it('runs holders in this process one at a time', async () => {
    let running = 0;
    let maxRunning = 0;
    await Promise.all(
      Array.from({ length: 10 }, () =>
        withLockFile(lockPath, async () => {
          running += 1;
          maxRunning = Math.max(maxRunning, running);
          await new Promise((resolveDelay) => setTimeout(resolveDelay, 2));
          running -= 1;
        }),
      ),
    );
    expect(maxRunning).toBe(1);
  });
});
