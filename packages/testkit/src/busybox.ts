import { chmod, copyFile, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { cachedBaseLayout, pushBaseLayout } from './base-layout.js';
import type { BaseImageRecipe, BaseLayout } from './base-layout.js';
import { requireTool, runCommand } from './process.js';
import type { TestRegistry } from './registry.js';

export type BusyboxLayout = BaseLayout;

const BUSYBOX_BINARY = '/bin/busybox';

const BUSYBOX: BaseImageRecipe = {
  name: 'busybox',
  tag: 'latest',
  createdBy: 'busybox-static rootfs',
  cmd: 'sh',
  makeRootfs: writeRootfs,
};

/**
 * Returns the busybox base image as an OCI layout, built once from Debian's busybox-static into
 * `<repo>/.cache/testkit/busybox`.
 */
export async function busyboxLayout(): Promise<BusyboxLayout> {
  requireTool('busybox', 'busybox-static');
  return cachedBaseLayout(BUSYBOX);
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
  return pushBaseLayout(registry, await busyboxLayout(), 'busybox');
}
