import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { busyboxLayout, pushBusybox } from './busybox.js';
import { chrootRun, skopeoInspect, umociUnpack } from './checks.js';
import { makeTempDir } from './process.js';
import { startRegistry } from './registry.js';
import type { TestRegistry } from './registry.js';

describe('busybox base image', () => {
  let registry: TestRegistry;
  let authRegistry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry();
    authRegistry = await startRegistry({ htpasswd: { username: 'bob', password: 'pw-123' } });
  });
  afterAll(async () => {
    await registry?.stop();
    await authRegistry?.stop();
  });

  it('unpacks with umoci and runs sh in a chroot', async () => {
    const { layoutDir, tag } = await busyboxLayout();
    const bundle = join(await makeTempDir('bundle'), 'bundle');
    const rootfs = await umociUnpack(layoutDir, tag, bundle);

    const result = await chrootRun(rootfs, ['/bin/sh', '-c', 'echo ok']);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('ok\n');
    expect(result.code).toBe(0);

    const inTmp = await chrootRun(rootfs, ['pwd'], { cwd: '/tmp' });
    expect(inTmp.stdout).toBe('/tmp\n');

    expect((await stat(join(rootfs, 'tmp'))).mode & 0o7777).toBe(0o1777);
    expect(await readFile(join(rootfs, 'etc', 'passwd'), 'utf8')).toContain(
      'nobody:x:65534:65534:',
    );
    expect(await readFile(join(rootfs, 'etc', 'group'), 'utf8')).toContain('nogroup:x:65534:');
  });

  it('is cached between calls', async () => {
    const first = await busyboxLayout();
    const second = await busyboxLayout();
    expect(second.layoutDir).toBe(first.layoutDir);
    expect((await stat(join(first.layoutDir, 'index.json'))).isFile()).toBe(true);
  });

  it('pushes to a registry with and without auth', async () => {
    const reference = await pushBusybox(registry);
    expect(reference).toBe(`${registry.host}/library/busybox:latest`);
    const config = (await skopeoInspect(reference, { config: true })) as {
      config: { Cmd: string[]; Env: string[] };
    };
    expect(config.config.Cmd).toEqual(['sh']);
    expect(config.config.Env).toContain(
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    );

    const authReference = await pushBusybox(authRegistry);
    const inspected = (await skopeoInspect(authReference, { creds: 'bob:pw-123' })) as {
      Layers: string[];
    };
    expect(inspected.Layers).toHaveLength(1);
    await expect(skopeoInspect(authReference)).rejects.toThrow(
      /unauthorized|authentication required/i,
    );
  });
});
