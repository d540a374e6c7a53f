import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

import { chrootRun, skopeoInspect, umociUnpack } from '../checks.js';
import { makeTempDir } from '../process.js';
import { startRegistry } from '../registry.js';
import type { TestRegistry } from '../registry.js';
import { debianLayout, pushDebian } from './debian.js';

describe('Debian base image', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry();
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('unpacks with umoci and runs bash and dpkg', async () => {
    const { layoutDir, tag } = await debianLayout();
    expect(tag).toBe('bookworm');
    const rootfs = await umociUnpack(layoutDir, tag, join(await makeTempDir('debian'), 'bundle'));

    const shell = await chrootRun(rootfs, ['bash', '-c', 'echo "$BASH_VERSION" | cut -d. -f1']);
    expect(shell.stdout).toBe('5\n');
    const release = await chrootRun(rootfs, ['cat', '/etc/debian_version']);
    expect(release.stdout).toMatch(/^12\./);
    const dpkg = await chrootRun(rootfs, ['dpkg-query', '-W', '-f=${Status}', 'apt']);
    expect(dpkg.stdout).toBe('install ok installed');

    expect(await readdir(join(rootfs, 'var', 'lib', 'apt', 'lists'))).toEqual(['partial']);
    const archives = await readdir(join(rootfs, 'var', 'cache', 'apt', 'archives'));
    expect(archives.filter((name) => name.endsWith('.deb'))).toEqual([]);
    expect(await readdir(join(rootfs, 'dev'))).toEqual([]);
    expect(existsSync(join(rootfs, 'etc', 'hostname'))).toBe(false);
  });

  it('pushes as library/debian:bookworm with Cmd bash', async () => {
    const reference = await pushDebian(registry);
    expect(reference).toBe(`${registry.host}/library/debian:bookworm`);
    const config = (await skopeoInspect(reference, { config: true })) as {
      config: { Cmd: string[]; Env: string[] };
      os: string;
    };
    expect(config.config.Cmd).toEqual(['bash']);
    expect(config.config.Env).toEqual([
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    ]);
    expect(config.os).toBe('linux');
  });
});
