import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  chrootRun,
  makeTempDir,
  removeTempDir,
  repoRoot,
  skopeoInspect,
  umociUnpack,
} from '@kiln/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);

// The image's PATH first; the host's sbin directories let the host find chroot itself.
const IMAGE_ENV = { PATH: '/kiln/bin:/usr/bin:/usr/sbin:/sbin' };

// Builds examples/executor-image with kiln itself, unpacks it with umoci and runs it with chroot.
describe('executor image', () => {
  let dir: string;
  let rootfs: string;
  let layout: string;

  beforeAll(async () => {
    dir = await makeTempDir('executor');
    layout = path.join(dir, 'layout');
    const script = path.join(repoRoot(), 'examples', 'executor-image', 'build.sh');
    await run(script, [layout], { maxBuffer: 16 * 1024 * 1024 });
    rootfs = await umociUnpack(layout, 'latest', path.join(dir, 'bundle'));
  });

  afterAll(async () => {
    if (dir) await removeTempDir(dir);
  });

  it('has the kiln build entrypoint', async () => {
    const config = (await skopeoInspect(`oci:${layout}:latest`, { config: true })) as {
      config: { Entrypoint: string[]; Env: string[]; WorkingDir: string };
    };
    expect(config.config.Entrypoint).toEqual(['/kiln/bin/node', '/kiln/kiln.mjs', 'build']);
    expect(config.config.Env).toContain('KILN_DIR=/kiln');
    expect(config.config.WorkingDir).toBe('/workspace');
  });

  it('runs kiln --help inside the image', async () => {
    const result = await chrootRun(rootfs, ['/kiln/bin/node', '/kiln/kiln.mjs', '--help'], {
      env: IMAGE_ENV,
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('build [options]');
    expect(result.stdout).toContain('parse');
  });

  it('runs kiln build --help and kiln check through its wrapper', async () => {
    const help = await chrootRun(rootfs, ['/kiln/bin/kiln', 'build', '--help'], {
      env: IMAGE_ENV,
    });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--destination');

    await writeFile(path.join(rootfs, 'workspace', 'Dockerfile'), 'FROM busybox\nMAINTAINER me\n');
    const check = await chrootRun(rootfs, ['/kiln/bin/kiln', 'check', '/workspace/Dockerfile'], {
      env: IMAGE_ENV,
    });
    expect(check.stdout).toContain('/workspace/Dockerfile:2: MaintainerDeprecated:');
    expect(check.code).toBe(1);
  });
});
