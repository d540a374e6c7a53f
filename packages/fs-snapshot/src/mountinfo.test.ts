import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { mountPointsUnder } from './ignore.js';
import { parseMountInfo, unescapeMountPath } from './mountinfo.js';

const sample = [
  '22 27 0:21 / /proc rw,relatime - proc proc rw',
  '27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard',
  '91 27 0:45 / /work/root/my\\040dir rw,nosuid shared:7 master:2 - tmpfs tmp\\040fs rw,size=4k',
  '92 27 254:0 /src /work/root/etc/resolv.conf ro,relatime - ext4 /dev/vda rw',
  '93 27 0:46 / /work/root/back\\134slash\\011tab rw - tmpfs tmpfs rw',
  '',
].join('\n');

describe('parseMountInfo', () => {
  it('parses fields around optional fields', () => {
    const entries = parseMountInfo(sample);
    expect(entries).toHaveLength(5);
    expect(entries[1]).toEqual({
      mountId: 27,
      parentId: 1,
      device: '254:0',
      root: '/',
      mountPoint: '/',
      mountOptions: 'rw,relatime',
      fsType: 'ext4',
      source: '/dev/vda',
      superOptions: 'rw,discard',
    });
    expect(entries[2]?.fsType).toBe('tmpfs');
    expect(entries[3]?.root).toBe('/src');
  });

  it('decodes escaped names', () => {
    const entries = parseMountInfo(sample);
    expect(entries[2]?.mountPoint).toBe('/work/root/my dir');
    expect(entries[2]?.source).toBe('tmp fs');
    expect(entries[4]?.mountPoint).toBe('/work/root/back\\slash\ttab');
    expect(unescapeMountPath('a\\012b')).toBe('a\nb');
  });

  it('rejects a line without the separator', () => {
    expect(() => parseMountInfo('22 27 0:21 / /proc rw,relatime proc proc rw')).toThrowError(
      expect.objectContaining({ code: 'INVALID_MOUNTINFO' }),
    );
  });

  it('rejects non-numeric mount ids', () => {
    expect(() => parseMountInfo('x 27 0:21 / /proc rw - proc proc rw')).toThrowError(
      /mount ids on mountinfo line 1/,
    );
  });

  it('reads this process mount table', async () => {
    const entries = parseMountInfo(await readFile('/proc/self/mountinfo', 'utf8'));
    expect(entries.some((entry) => entry.mountPoint === '/')).toBe(true);
  });
});

describe('mountPointsUnder', () => {
  it('returns mount points strictly under the root, relative', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-mountinfo-'));
    try {
      const file = join(dir, 'mountinfo');
      await writeFile(file, sample);
      expect(await mountPointsUnder('/work/root', file).catch(() => 'no root')).toBe('no root');
      const fakeRoot = join(dir, 'root');
      await mkdir(fakeRoot);
      const lines = sample.replaceAll('/work/root', fakeRoot);
      await writeFile(file, lines);
      expect((await mountPointsUnder(fakeRoot, file)).sort()).toEqual([
        'back\\slash\ttab',
        'etc/resolv.conf',
        'my dir',
      ]);
      expect(await mountPointsUnder('/', file)).toContain('proc');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
