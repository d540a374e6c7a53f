import { lstat, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseMountInfo } from '@kiln/fs-snapshot';
import { keptPathReasons, rootKeepPaths } from './root-keep.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-root-keep-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('rootKeepPaths', () => {
  it('keeps what the build reads and writes', async () => {
    const keep = await rootKeepPaths(
      {
        context: '/workspace',
        dockerfile: '/config/Dockerfile',
        tarPath: '/out/image.tar',
        digestFile: '/digest',
        ociLayoutPath: '/layout',
        cache: { enabled: false, dir: '/cache' },
        ignorePaths: ['/var/cache/apt'],
        secrets: { token: { src: '/secrets/token' }, env: { env: 'TOKEN' } },
        registry: {
          registryCertificates: { 'r.example': '/certs/ca.pem' },
          registryClientCerts: { 'r.example': { cert: '/certs/c.pem', key: '/certs/k.pem' } },
        },
      },
      { mode: 'none', kilnDir: '/kiln' },
      '/workspace/sub',
      [],
    );
    for (const kept of [
      '/kiln',
      '/workspace/sub',
      '/config/Dockerfile',
      '/out',
      '/layout',
      '/cache',
      '/var/cache/apt',
      '/secrets/token',
      '/certs/ca.pem',
      '/certs/c.pem',
      '/certs/k.pem',
      process.cwd(),
    ])
      expect(keep, kept).toContain(kept);
    // The digest file lies directly in /, which is never kept as a whole.
    expect(keep).not.toContain('/');
  });

  it('keeps the target of a symlinked kiln directory', async () => {
    const target = path.join(dir, 'data', 'kiln');
    await mkdir(target, { recursive: true });
    const link = path.join(dir, 'kiln');
    await symlink(target, link);
    const keep = await rootKeepPaths(
      { context: '/workspace' },
      { mode: 'none', kilnDir: link },
      '/workspace',
      [],
    );
    expect(keep).toContain(link);
    expect(keep).toContain(target);
  });

  it('keeps only the runtime paths that exist', async () => {
    const keep = await rootKeepPaths(
      { context: '/workspace' },
      { mode: 'none', kilnDir: '/kiln' },
      '/workspace',
      [],
    );
    for (const runtimePath of ['/etc/resolv.conf', '/etc/hosts', '/etc/hostname', '/var/run']) {
      const exists = await lstat(runtimePath).then(
        () => true,
        () => false,
      );
      expect(keep.includes(runtimePath), runtimePath).toBe(exists);
    }
  });
});

describe('keptPathReasons', () => {
  it('names why each path is kept', async () => {
    const mounts = parseMountInfo(
      [
        '600 500 0:50 / / rw - overlay overlay rw',
        '605 600 8:1 /tmp/ctx /workspace rw - ext4 /dev/sda1 rw',
        '606 600 8:1 /tmp/data /data rw - ext4 /dev/sda1 rw',
      ].join('\n'),
    );
    const reasons = await keptPathReasons(
      { context: '/workspace', cache: { enabled: true, dir: '/cache' }, tarPath: '/out/i.tar' },
      { mode: 'none', kilnDir: '/kiln' },
      '/workspace',
      mounts,
    );
    expect(reasons.get('/workspace')).toBe('the build context');
    expect(reasons.get('/data')).toBe('a mount point');
    expect(reasons.get('/kiln')).toBe('KILN_DIR');
    expect(reasons.get('/cache')).toBe('the cache directory');
    expect(reasons.get('/out')).toBe('the directory of an output file');
    expect(reasons.get('/proc')).toBe('a kernel file system');
    expect(reasons.get('/etc/hosts')).toBe("a file of the container's runtime");
  });
});
