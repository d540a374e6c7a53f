import { access, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { createSnapshotter } from '../create-snapshotter.js';
import type { SnapshotterEvent } from '../create-snapshotter.js';
import { readMountInfo } from '../mountinfo.js';
import { LayeredOverlaySnapshotter } from './layered-overlay.js';
import { OverlaySnapshotter } from './overlay-snapshotter.js';
import { canMountOverlay } from '../test-support/overlay.js';
import { probeOverlay } from './probe.js';

const isRoot = process.getuid?.() === 0;
const hasOverlay = await canMountOverlay();

let dir: string;
let lower: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiln-overlay-'));
  lower = join(dir, 'lower');
  await mkdir(join(lower, 'etc'), { recursive: true });
  await writeFile(join(lower, 'etc/hostname'), 'box\n');
  await writeFile(join(lower, 'etc/motd'), 'hello\n');
});

afterEach(async () => {
  const leftover = (await readMountInfo()).filter(({ mountPoint }) => mountPoint.startsWith(dir));
  await rm(dir, { recursive: true, force: true });
  expect(leftover.map(({ mountPoint }) => mountPoint)).toEqual([]);
});

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

describe.skipIf(!hasOverlay)('OverlaySnapshotter', () => {
  it('returns the step as a change set read from a view', async () => {
    const snapshotter = new OverlaySnapshotter({ workDir: join(dir, 'work') });
    try {
      const { mergedDir, upperDir } = await snapshotter.prepare([lower]);
      await writeFile(join(mergedDir, 'etc/hostname'), 'changed\n');
      await rm(join(mergedDir, 'etc/motd'));
      const changes = await snapshotter.commit();

      expect(changes.entries).toEqual([
        { path: 'etc', kind: 'add' },
        { path: 'etc/hostname', kind: 'add' },
        { path: 'etc/motd', kind: 'delete' },
      ]);
      expect(changes.root).not.toBe(upperDir);
      expect(await readFile(join(changes.root, 'etc/hostname'), 'utf8')).toBe('changed\n');
      expect(await exists(join(changes.root, 'etc/motd'))).toBe(false);
      expect(await readFile(join(lower, 'etc/hostname'), 'utf8')).toBe('box\n');
    } finally {
      await snapshotter.release();
    }
  });

  it('keeps a caller-owned upper directory after release', async () => {
    const upperDir = join(dir, 'mine/upper');
    const snapshotter = new OverlaySnapshotter({ workDir: join(dir, 'work') });
    const { mergedDir } = await snapshotter.prepare([lower], { upperDir });
    await writeFile(join(mergedDir, 'new'), 'x');
    await snapshotter.commit();
    await snapshotter.release();
    expect(await readdir(upperDir)).toEqual(['new']);
    expect(await readdir(join(dir, 'work'))).toEqual([]);
  });

  it('unmounts on release without commit', async () => {
    const snapshotter = new OverlaySnapshotter({ workDir: join(dir, 'work') });
    const { mergedDir } = await snapshotter.prepare([lower]);
    await writeFile(join(mergedDir, 'new'), 'x');
    await snapshotter.release();
    await snapshotter.release();
    expect(await readdir(join(dir, 'work'))).toEqual([]);
  });

  it('rejects calls out of order', async () => {
    const snapshotter = new OverlaySnapshotter({ workDir: join(dir, 'work') });
    await expect(snapshotter.commit()).rejects.toMatchObject({ code: 'OVERLAY_STATE' });
    await snapshotter.prepare([lower]);
    await expect(snapshotter.prepare([lower])).rejects.toMatchObject({ code: 'OVERLAY_STATE' });
    await snapshotter.release();
  });

  it('rejects a non-empty upper directory', async () => {
    const upperDir = join(dir, 'used');
    await mkdir(upperDir);
    await writeFile(join(upperDir, 'stale'), '');
    const snapshotter = new OverlaySnapshotter({ workDir: join(dir, 'work') });
    await expect(snapshotter.prepare([lower], { upperDir })).rejects.toMatchObject({
      code: 'OVERLAY_STATE',
    });
    await snapshotter.release();
  });

  it('reports a failed mount with the tool output', async () => {
    const snapshotter = new OverlaySnapshotter({ workDir: join(dir, 'work') });
    const error = await snapshotter
      .prepare([join(dir, 'missing')])
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'OVERLAY_MOUNT_FAILED' });
    expect((error as Error).message).toContain(join(dir, 'missing'));
    await snapshotter.release();
  });

  it('rejects directories whose names break mount options', async () => {
    const snapshotter = new OverlaySnapshotter({ workDir: join(dir, 'a,b') });
    await expect(snapshotter.prepare([lower])).rejects.toMatchObject({
      code: 'OVERLAY_MOUNT_FAILED',
    });
    await snapshotter.release();
  });
});

describe.skipIf(!hasOverlay)('LayeredOverlaySnapshotter', () => {
  it('stacks steps and leaves the root untouched', async () => {
    const snapshotter = new LayeredOverlaySnapshotter(lower, { workDir: join(dir, 'work') });
    expect(() => snapshotter.rootfs).toThrowError(
      expect.objectContaining({ code: 'NOT_INITIALIZED' }),
    );
    await snapshotter.init();
    try {
      await writeFile(join(snapshotter.rootfs, 'one'), '1');
      const first = await snapshotter.changes();
      await writeFile(join(snapshotter.rootfs, 'two'), '2');
      await rm(join(snapshotter.rootfs, 'one'));
      const second = await snapshotter.changes();

      expect(first.entries).toEqual([{ path: 'one', kind: 'add' }]);
      expect(second.entries).toEqual([
        { path: 'one', kind: 'delete' },
        { path: 'two', kind: 'add' },
      ]);
      expect(await readFile(join(second.root, 'two'), 'utf8')).toBe('2');
      expect((await readdir(snapshotter.rootfs)).sort()).toEqual(['etc', 'two']);
      expect((await readdir(lower)).sort()).toEqual(['etc']);
    } finally {
      await snapshotter.release();
    }
    expect(await readdir(join(dir, 'work'))).toEqual([]);
  });

  it('makes the current state the baseline when init() is called again', async () => {
    const snapshotter = new LayeredOverlaySnapshotter(lower, { workDir: join(dir, 'work') });
    await snapshotter.init();
    try {
      await writeFile(join(snapshotter.rootfs, 'copied'), 'known to the caller');
      await snapshotter.init();
      await writeFile(join(snapshotter.rootfs, 'ran'), 'found by the snapshot');
      const changes = await snapshotter.changes();
      expect(changes.entries).toEqual([{ path: 'ran', kind: 'add' }]);
      expect((await readdir(snapshotter.rootfs)).sort()).toEqual(['copied', 'etc', 'ran']);
    } finally {
      await snapshotter.release();
    }
  });
});

describe.skipIf(!isRoot)('createSnapshotter', () => {
  it.skipIf(!hasOverlay)('picks overlay where the probe mounts one', async () => {
    expect(await probeOverlay(join(dir, 'work'))).toEqual({ available: true });
    const snapshotter = await createSnapshotter(lower, { workDir: join(dir, 'work') });
    expect(snapshotter.kind).toBe('overlay');
  });

  it('falls back to walk and reports it once', async () => {
    // A comma in the work directory cannot be passed in overlay mount options, so the probe fails.
    const workDir = join(dir, 'no,overlay');
    const events: SnapshotterEvent[] = [];
    const first = await createSnapshotter(lower, {
      workDir,
      onEvent: (event) => events.push(event),
    });
    const second = await createSnapshotter(lower, {
      workDir,
      onEvent: (event) => events.push(event),
    });
    expect(first.kind).toBe('walk');
    expect(second.kind).toBe('walk');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'overlay-unavailable', workDir });
    expect(events[0]?.reason).toContain(',');
  });

  it('raises instead of falling back when overlay is required', async () => {
    const workDir = join(dir, 'required,overlay');
    await expect(createSnapshotter(lower, { workDir, mode: 'overlay' })).rejects.toMatchObject({
      code: 'OVERLAY_UNAVAILABLE',
    });
  });

  it('skips the probe in walk mode', async () => {
    const snapshotter = await createSnapshotter(lower, {
      workDir: join(dir, 'unused'),
      mode: 'walk',
    });
    expect(snapshotter.kind).toBe('walk');
    expect(snapshotter.rootfs).toBe(lower);
    expect(await exists(join(dir, 'unused'))).toBe(false);
  });
});
