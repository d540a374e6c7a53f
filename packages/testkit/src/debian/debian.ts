import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';

import { skopeoCopy } from '../checks.js';
import { cacheDir } from '../paths.js';
import { requireTool, runCommand } from '../process.js';
import type { TestRegistry } from '../registry.js';

export interface DebianLayout {
  /** OCI image layout directory. */
  layoutDir: string;
  tag: string;
}

export interface DebianLayoutOptions {
  /** Debian mirror that debootstrap downloads from. */
  mirror?: string;
}

const DEFAULT_MIRROR = 'http://deb.debian.org/debian';
const SUITE = 'bookworm';
const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * Returns a Debian base image as an OCI layout, built once with `debootstrap --variant=minbase`
 * into `<repo>/.cache/testkit/debian`. The first call downloads about 45 MB from the
 * mirror. The layout is built under a temporary name and renamed into place, so two test
 * processes never see a half-written layout.
 */
export async function debianLayout(options: DebianLayoutOptions = {}): Promise<DebianLayout> {
  const finalDir = join(cacheDir(), 'debian');
  const layoutDir = join(finalDir, 'oci');
  if (existsSync(join(layoutDir, 'index.json'))) return { layoutDir, tag: SUITE };

  requireTool('debootstrap', 'debootstrap');
  requireTool('umoci', 'umoci');
  await mkdir(cacheDir(), { recursive: true });
  const workDir = join(cacheDir(), `debian.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await buildLayout(workDir, SUITE, options.mirror ?? DEFAULT_MIRROR);
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
  return { layoutDir, tag: SUITE };
}

async function buildLayout(workDir: string, suite: string, mirror: string): Promise<void> {
  const rootfs = join(workDir, 'rootfs');
  const layout = join(workDir, 'oci');
  const bundle = join(workDir, 'bundle');
  const image = `${layout}:${suite}`;

  await runCommand('debootstrap', ['--variant=minbase', suite, rootfs, mirror]);
  await trimRootfs(rootfs);

  await runCommand('umoci', ['init', '--layout', layout]);
  await runCommand('umoci', ['new', '--image', image]);
  await runCommand('umoci', ['unpack', '--image', image, bundle]);
  // The bundle's empty rootfs is replaced by the bootstrapped one, which keeps owners and modes.
  await rmdir(join(bundle, 'rootfs'));
  await rename(rootfs, join(bundle, 'rootfs'));
  await runCommand('umoci', [
    'repack',
    '--image',
    image,
    '--history.created_by',
    `debootstrap --variant=minbase ${suite}`,
    bundle,
  ]);
  await runCommand('umoci', [
    'config',
    '--image',
    image,
    '--config.cmd',
    'bash',
    '--config.env',
    PATH_ENV,
  ]);
  await runCommand('umoci', ['gc', '--layout', layout]);
  await rm(bundle, { recursive: true, force: true });
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
  const { layoutDir, tag } = await debianLayout(options);
  const reference = `${registry.host}/library/debian:${tag}`;
  const creds = registry.credentials
    ? `${registry.credentials.username}:${registry.credentials.password}`
    : undefined;
  await skopeoCopy(`oci:${layoutDir}:${tag}`, `docker://${reference}`, {
    dest: creds === undefined ? {} : { creds },
  });
  return reference;
}
