import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

import { cachedBaseLayout, pushBaseLayout } from '../base-layout.js';
import type { BaseLayout } from '../base-layout.js';
import { requireTool, runCommand } from '../process.js';
import type { TestRegistry } from '../registry.js';

export type DebianLayout = BaseLayout;

export interface DebianLayoutOptions {
  /** Debian mirror that debootstrap downloads from. */
  mirror?: string;
}

const DEFAULT_MIRROR = 'http://deb.debian.org/debian';
const SUITE = 'bookworm';

/**
 * Returns a Debian base image as an OCI layout, built once with `debootstrap --variant=minbase`
 * into `<repo>/.cache/testkit/debian`. The first call downloads about 45 MB from the mirror.
 */
export async function debianLayout(options: DebianLayoutOptions = {}): Promise<DebianLayout> {
  requireTool('debootstrap', 'debootstrap');
  const mirror = options.mirror ?? DEFAULT_MIRROR;
  return cachedBaseLayout({
    name: 'debian',
    tag: SUITE,
    createdBy: `debootstrap --variant=minbase ${SUITE}`,
    cmd: 'bash',
    makeRootfs: async (rootfs) => {
      await runCommand('debootstrap', ['--variant=minbase', SUITE, rootfs, mirror]);
      await trimRootfs(rootfs);
    },
  });
}

/**
 * Removes what a container image should not carry: downloaded packages, package lists, device
 * nodes (a runtime provides /dev) and the build machine's hostname.
 */
async function trimRootfs(rootfs: string): Promise<void> {
  await emptyDir(join(rootfs, 'var', 'cache', 'apt', 'archives'), (name) => name.endsWith('.deb'));
  await emptyDir(join(rootfs, 'var', 'lib', 'apt', 'lists'), () => true);
  await mkdir(join(rootfs, 'var', 'lib', 'apt', 'lists', 'partial'), { recursive: true });
  await emptyDir(join(rootfs, 'dev'), () => true);
  await rm(join(rootfs, 'etc', 'hostname'), { force: true });
  // NOTE: debootstrap's copy of this machine's /etc/resolv.conf stays in the image, where
  // Docker's Debian images ship none; builders mount their own over it during RUN.
}

async function emptyDir(dir: string, select: (name: string) => boolean): Promise<void> {
  for (const name of await readdir(dir)) {
    if (select(name)) await rm(join(dir, name), { recursive: true, force: true });
  }
}

/**
 * Pushes the Debian layout to `registry` as `library/debian:bookworm` with skopeo and returns the
 * reference `127.0.0.1:PORT/library/debian:bookworm`.
 */
export async function pushDebian(
  registry: TestRegistry,
  options: DebianLayoutOptions = {},
): Promise<string> {
  return pushBaseLayout(registry, await debianLayout(options), 'debian');
}
