import { describe, expect, it } from 'vitest';

import {
  BLOCK_SIZE,
  END_OF_ARCHIVE,
  encodeHeader,
  paddingFor,
  type TarHeader,
} from './tar-header.js';
import { TarReader, type TarEntry } from './tar-reader.js';

async function readBack(...chunks: Buffer[]): Promise<TarEntry[]> {
  const reader = new TarReader(
    (async function* () {
      yield* chunks;
    })(),
  );
  const entries: TarEntry[] = [];
  for (let entry = await reader.next(); entry !== undefined; entry = await reader.next())
    entries.push(entry);
  return entries;
}

const base: TarHeader = {
  name: 'file',
  type: 'file',
  mode: 0o644,
  uid: 0,
  gid: 0,
  size: 0,
  mtimeNs: 1_600_000_000_000_000_000n,
};

describe('encodeHeader and TarReader', () => {
  const cases: Array<[string, Partial<TarHeader>, Partial<TarEntry>]> = [
    [
      'a 300-byte name',
      { name: `${'d'.repeat(150)}/${'f'.repeat(149)}` },
      { name: `${'d'.repeat(150)}/${'f'.repeat(149)}` },
    ],
    [
      'a name split into prefix',
      { name: `${'p'.repeat(120)}/${'n'.repeat(90)}` },
      { name: `${'p'.repeat(120)}/${'n'.repeat(90)}` },
    ],
    ['a non-ASCII name', { name: 'répertoire/日本語' }, { name: 'répertoire/日本語' }],
    [
      'a long symlink target',
      { type: 'symlink', linkname: 't'.repeat(180) },
      { type: 'symlink', linkname: 't'.repeat(180) },
    ],
    ['ids above 2097151', { uid: 3_000_000, gid: 4_000_000 }, { uid: 3_000_000, gid: 4_000_000 }],
    [
      'names of owners',
      { uname: 'builder', gname: 'a-group-name-that-is-longer-than-32-bytes' },
      { uname: 'builder', gname: 'a-group-name-that-is-longer-than-32-bytes' },
    ],
    [
      'a nanosecond mtime',
      { mtimeNs: 1_600_000_000_123_456_789n },
      { mtimeNs: 1_600_000_000_123_456_789n },
    ],
    ['an mtime before 1970', { mtimeNs: -1_500_000_000n }, { mtimeNs: -1_500_000_000n }],
    ['setuid, setgid and sticky bits', { mode: 0o7755 }, { mode: 0o7755 }],
    ['a directory', { type: 'directory', mode: 0o755 }, { type: 'directory', name: 'file/' }],
    [
      'a device',
      { type: 'block', devmajor: 259, devminor: 1_048_575 },
      { type: 'block', devmajor: 259, devminor: 1_048_575 },
    ],
  ];
  for (const [label, header, expected] of cases) {
    it(`round-trips ${label}`, async () => {
      const [entry] = await readBack(encodeHeader({ ...base, ...header }), END_OF_ARCHIVE);
      expect(entry).toMatchObject(expected);
    });
  }

  it('round-trips binary xattrs', async () => {
    const xattrs = new Map([
      ['security.capability', Buffer.from([1, 0, 0, 2, 0, 4, 0, 0, 0xff, 0x0a, 0x3d])],
      ['user.empty', Buffer.alloc(0)],
    ]);
    const [entry] = await readBack(encodeHeader({ ...base, xattrs }), END_OF_ARCHIVE);
    expect(entry?.xattrs).toEqual(xattrs);
  });

  it('round-trips a size above 8 GiB', async () => {
    const reader = new TarReader(
      (async function* () {
        yield encodeHeader({ ...base, size: 10 * 1024 ** 3 });
      })(),
    );
    expect((await reader.next())?.size).toBe(10 * 1024 ** 3);
  });

  it('pads content to whole blocks', () => {
    expect(paddingFor(0).length).toBe(0);
    expect(paddingFor(1).length).toBe(BLOCK_SIZE - 1);
    expect(paddingFor(BLOCK_SIZE).length).toBe(0);
  });
});

describe('TarReader errors', () => {
  it('rejects a bad checksum', async () => {
    const header = encodeHeader(base);
    header[0] = 0x78;
    await expect(readBack(header)).rejects.toMatchObject({ code: 'INVALID_TAR' });
  });

  it('rejects a stream that ends inside content', async () => {
    await expect(
      readBack(encodeHeader({ ...base, size: 1000 }), Buffer.alloc(100)),
    ).rejects.toMatchObject({ code: 'INVALID_TAR' });
  });

  it('rejects a GNU sparse entry', async () => {
    const header = encodeHeader(base);
    header.write('S', 156, 'ascii');
    fixChecksum(header);
    await expect(readBack(header, END_OF_ARCHIVE)).rejects.toMatchObject({
      code: 'UNSUPPORTED_ENTRY',
    });
  });

  it('reads base-256 numbers', async () => {
    const header = encodeHeader(base);
    header.fill(0, 108, 116);
    header[108] = 0x80;
    header.writeUInt32BE(5_000_000_000 % 2 ** 32, 112);
    header[111] = Math.floor(5_000_000_000 / 2 ** 32);
    fixChecksum(header);
    const [entry] = await readBack(header, END_OF_ARCHIVE);
    expect(entry?.uid).toBe(5_000_000_000);
  });

  it('applies global PAX records to later entries', async () => {
    const global = encodeHeader({ ...base, uname: 'ünïcode' }).subarray(0, BLOCK_SIZE * 2);
    global.write('g', 156, 'ascii');
    fixChecksum(global);
    const [first, second] = await readBack(
      global,
      encodeHeader(base),
      encodeHeader({ ...base, name: 'other' }),
      END_OF_ARCHIVE,
    );
    expect(first?.uname).toBe('ünïcode');
    expect(second?.uname).toBe('ünïcode');
  });
});

function fixChecksum(block: Buffer): void {
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (let index = 0; index < BLOCK_SIZE; index++) sum += block[index] ?? 0;
  block.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'ascii');
}
