import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, rename, rm, symlink, writeFile, copyFile } from 'node:fs/promises';
import { join } from 'node:path';

import { skopeoCopy } from './checks.js';
import { requireTool, runCommand } from './process.js';
import { cacheDir } from './paths.js';
import type { TestRegistry } from './registry.js';

export interface BusyboxLayout {
  /** OCI image layout directory. */
  layoutDir: string;
  tag: string;
}

const BUSYBOX_BINARY = '/bin/busybox';
const TAG = 'latest';
const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * Returns the busybox base image as an OCI layout, building it once from Debian's busybox-static
 * into `<repo>/.cache/testkit/busybox`. The layout is built under a temporary name and renamed
 * into place, so concurrent test processes never see a half-written layout.
 */
export async function busyboxLayout(): Promise<BusyboxLayout> {
  const finalDir = join(cacheDir(), 'busybox');
  const layoutDir = join(finalDir, 'oci');
  if (existsSync(join(layoutDir, 'index.json'))) return { layoutDir, tag: TAG };

  requireTool('busybox', 'busybox-static');
  requireTool('umoci', 'umoci');
  await mkdir(cacheDir(), { recursive: true });
  const workDir = join(cacheDir(), `busybox.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await buildLayout(workDir);
    try {
      await rename(workDir, finalDir);
    } catch (error) {
      // Another process renamed its complete copy first: use that one.
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
    }
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
  return { layoutDir, tag: TAG };
}

async function buildLayout(workDir: string): Promise<void> {
  const rootfs = join(workDir, 'rootfs');
  const layout = join(workDir, 'oci');
  const bundle = join(workDir, 'bundle');
  const image = `${layout}:${TAG}`;

  await writeRootfs(rootfs);
  await runCommand('umoci', ['init', '--layout', layout]);
  await runCommand('umoci', ['new', '--image', image]);
  await runCommand('umoci', ['unpack', '--image', image, bundle]);
  await cp(rootfs, join(bundle, 'rootfs'), {
    recursive: true,
    verbatimSymlinks: true,
    preserveTimestamps: true,
  });
  await runCommand('umoci', [
    'repack',
    '--image',
    image,
    '--history.created_by',
    'busybox-static rootfs',
    bundle,
  ]);
  await runCommand('umoci', [
    'config',
    '--image',
    image,
    '--config.cmd',
    'sh',
    '--config.env',
    PATH_ENV,
  ]);
  await runCommand('umoci', ['gc', '--layout', layout]);
  // Only the layout is kept in the cache.
  await rm(bundle, { recursive: true, force: true });
  await rm(rootfs, { recursive: true, force: true });
}

async function writeRootfs(rootfs: string): Promise<void> {
  for (const dir of ['bin', 'etc', 'tmp', 'root', 'proc', 'sys', 'dev', 'var']) {
    await mkdir(join(rootfs, dir), { recursive: true });
  }
  await chmod(join(rootfs, 'tmp'), 0o1777);
  await chmod(join(rootfs, 'root'), 0o700);
  await copyFile(BUSYBOX_BINARY, join(rootfs, 'bin', 'busybox'));
  await chmod(join(rootfs, 'bin', 'busybox'), 0o755);

  const { stdout } = await runCommand(BUSYBOX_BINARY, ['--list']);
  for (const applet of stdout.split('\n').map((line) => line.trim())) {
    if (applet === '' || applet === 'busybox') continue;
    await symlink('busybox', join(rootfs, 'bin', applet));
  }

  await writeFile(
    join(rootfs, 'etc', 'passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
  );
  await writeFile(join(rootfs, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
}

/**
 * Pushes the busybox layout to `registry` as `library/busybox:latest` with skopeo and returns
 * the reference `127.0.0.1:PORT/library/busybox:latest`.
 */
export async function pushBusybox(registry: TestRegistry): Promise<string> {
  const { layoutDir, tag } = await busyboxLayout();
  const reference = `${registry.host}/library/busybox:latest`;
  const creds = registry.credentials
    ? `${registry.credentials.username}:${registry.credentials.password}`
    : undefined;
  await skopeoCopy(`oci:${layoutDir}:${tag}`, `docker://${reference}`, {
    dest: creds === undefined ? {} : { creds },
  });
  return reference;
}
