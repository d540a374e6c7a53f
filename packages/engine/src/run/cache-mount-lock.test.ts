import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cacheDirInUse,
  claimPrivateCacheDir,
  lockCacheDir,
  useCacheDir,
} from './cache-mount-lock.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-cache-lock-test-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('cache mount sharing', () => {
  it('counts users of a cache directory', () => {
    const cache = path.join(dir, 'counted');
    const first = useCacheDir(cache);
    const second = useCacheDir(cache);
    first();
    first();
    expect(cacheDirInUse(cache)).toBe(true);
    second();
    expect(cacheDirInUse(cache)).toBe(false);
  });

  it('gives each private user a free instance', () => {
    const cache = path.join(dir, 'private');
    const first = claimPrivateCacheDir(cache);
    const second = claimPrivateCacheDir(cache);
    const third = claimPrivateCacheDir(cache);
    expect([first.dir, second.dir, third.dir]).toEqual([cache, `${cache}#1`, `${cache}#2`]);

    // A released instance is the next one handed out, before any new one.
    second.release();
    const again = claimPrivateCacheDir(cache);
    expect(again.dir).toBe(`${cache}#1`);
    for (const claim of [first, third, again]) claim.release();
    expect(claimPrivateCacheDir(cache).dir).toBe(cache);
  });

  it('lets one holder at a time take a locked cache, in order', async () => {
    const cache = path.join(dir, 'locked');
    const order: string[] = [];
    const hold = async (name: string): Promise<void> => {
      const release = await lockCacheDir(cache);
      order.push(`start ${name}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
      order.push(`end ${name}`);
      await release();
    };
    await Promise.all([hold('a'), hold('b'), hold('c')]);
    expect(order).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
    await expect(stat(`${cache}.lock`)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('takes over a lock left by a process that is gone', async () => {
    const cache = path.join(dir, 'stale');
    await mkdir(`${cache}.lock`);
    await writeFile(path.join(`${cache}.lock`, 'pid'), '2147483646');
    const release = await lockCacheDir(cache);
    await release();
  });

  it('stops waiting when aborted', async () => {
    const cache = path.join(dir, 'aborted');
    await mkdir(`${cache}.lock`);
    await writeFile(path.join(`${cache}.lock`, 'pid'), String(process.pid));
    const controller = new AbortController();
    const waiting = lockCacheDir(cache, controller.signal);
    controller.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
  });
});
