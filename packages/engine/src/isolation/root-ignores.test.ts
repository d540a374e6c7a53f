import { parseMountInfo } from '@kiln/fs-snapshot';
import { describe, expect, it } from 'vitest';
import { RUNTIME_PATHS, rootIgnorePaths } from './root-ignores.js';

// A runc container's mount table: the root, kernel file systems, a bind-mounted context
// with an escaped space, and the runtime's network files.
const MOUNTINFO = [
  '600 500 0:50 / / rw,relatime - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w',
  '601 600 0:52 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw',
  '602 600 0:53 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755',
  '603 602 0:54 / /dev/pts rw,nosuid,noexec,relatime - devpts devpts rw,gid=5,mode=620',
  '604 600 0:55 / /sys ro,nosuid,nodev,noexec,relatime - sysfs sysfs ro',
  '605 600 8:1 /tmp/ctx /workspace rw,relatime - ext4 /dev/sda1 rw',
  '606 600 8:1 /tmp/my\\040files /data\\040dir ro,relatime - ext4 /dev/sda1 rw',
  '607 600 8:1 /var/lib/c/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/sda1 rw',
].join('\n');

describe('rootIgnorePaths', () => {
  it('lists kiln, kernel, runtime and mount paths', () => {
    const paths = rootIgnorePaths({
      kilnDir: '/kiln',
      mounts: parseMountInfo(MOUNTINFO),
      ignoreVarRun: true,
      runtimePaths: RUNTIME_PATHS,
      extra: ['/var/cache/apt/', 'opt/keep'],
    });
    expect(paths).toEqual([
      '/data dir',
      '/dev',
      '/dev/pts',
      '/etc/hostname',
      '/etc/hosts',
      '/etc/resolv.conf',
      '/kiln',
      '/opt/keep',
      '/proc',
      '/sys',
      '/var/cache/apt',
      '/var/run',
      '/workspace',
    ]);
  });

  it('leaves out the root mount', () => {
    const paths = rootIgnorePaths({
      kilnDir: '/kiln',
      mounts: parseMountInfo(MOUNTINFO),
      ignoreVarRun: true,
      runtimePaths: RUNTIME_PATHS,
      extra: ['/'],
    });
    expect(paths).not.toContain('/');
  });

  it('keeps /var/run only when asked', () => {
    const paths = rootIgnorePaths({
      kilnDir: '/opt/kiln',
      mounts: [],
      ignoreVarRun: false,
      runtimePaths: RUNTIME_PATHS,
      extra: [],
    });
    expect(paths).not.toContain('/var/run');
    expect(paths).toContain('/opt/kiln');
  });

  it('keeps only runtime paths that exist', () => {
    const paths = rootIgnorePaths({
      kilnDir: '/kiln',
      mounts: [],
      ignoreVarRun: true,
      runtimePaths: ['/etc/resolv.conf'],
      extra: [],
    });
    expect(paths).toContain('/etc/resolv.conf');
    expect(paths).not.toContain('/etc/hosts');
    expect(paths).not.toContain('/etc/hostname');
    expect(paths).not.toContain('/var/run');
  });
});
