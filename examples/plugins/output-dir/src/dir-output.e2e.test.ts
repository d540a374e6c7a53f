import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { busyboxLayout, chrootRun } from '@kiln/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import outputDirPlugin from './index.js';
import { readLayoutImage } from './testing/layout-image.js';

let workDir: string;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'kiln-output-dir-e2e-'));
});

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

describe('dir output of busybox', () => {
  it('writes a root filesystem that runs in a chroot', async () => {
    const { layoutDir, tag } = await busyboxLayout();
    const image = await readLayoutImage(layoutDir, tag);
    const dest = join(workDir, 'rootfs');
    const target = await outputDirPlugin.outputs[0].create({ dest });
    await target.write(image, {
      logger: { debug() {}, info() {}, warn() {}, error() {} },
      emit() {},
      signal: new AbortController().signal,
    });

    const result = await chrootRun(dest, ['/bin/sh', '-c', 'echo "$(id -u) $(ls /bin | wc -l)"']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const [uid, applets] = result.stdout.trim().split(' ').map(Number);
    expect(uid).toBe(0);
    expect(applets).toBeGreaterThan(100);
  });
});
