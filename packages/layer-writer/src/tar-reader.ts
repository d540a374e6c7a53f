import { ByteSource } from './byte-source.js';
import { LayerError } from './errors.js';
import { BLOCK_SIZE, decodeHeader, type RawHeader, type TarEntryType } from './tar-header.js';

/** One entry of a tar stream, with PAX and GNU long-name records merged in. */
export interface TarEntry {
  /** The name as stored (not yet cleaned). */
  name: string;
  type: TarEntryType;
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  size: number;
  mtimeNs: bigint;
  atimeNs: bigint | undefined;
  linkname: string;
  devmajor: number;
  devminor: number;
  xattrs: Map<string, Buffer>;
}

const TYPES: Record<string, TarEntryType> = {
  '0': 'file',
  '7': 'file',
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'directory',
  '6': 'fifo',
};

/** Extended records larger than this are rejected rather than held in memory. */
const MAX_META_SIZE = 16 * 1024 * 1024;

/**
 * Reads tar entries one at a time. After {@link next} returns an entry, the caller either
 * streams its content with {@link content} or leaves it, and the next call skips what is left.
 */
export class TarReader {
  private readonly source: ByteSource;
  private readonly globals = new Map<string, Buffer>();
  private unread = 0;
  private padding = 0;

  constructor(source: AsyncIterable<Buffer>) {
    this.source = new ByteSource(source);
  }

  /** Returns the next entry, or undefined at the end of the archive (after reading to the end). */
  async next(): Promise<TarEntry | undefined> {
    await this.source.skip(this.unread + this.padding);
    this.unread = 0;
    this.padding = 0;

    let local = new Map<string, Buffer>();
    let longName: string | undefined;
    let longLink: string | undefined;
    for (;;) {
      const position = this.source.position;
      const block = await this.source.readExact(BLOCK_SIZE);
      const raw = block === undefined ? undefined : decodeHeader(block, position);
      if (raw === undefined) {
        await this.source.drain();
        return undefined;
      }
      if (raw.typeflag === 'x' || raw.typeflag === 'g') {
        const records = parsePax(await this.readMeta(raw), raw.name);
        if (raw.typeflag === 'g') for (const [key, value] of records) this.globals.set(key, value);
        else local = new Map([...local, ...records]);
        continue;
      }
      if (raw.typeflag === 'L' || raw.typeflag === 'K') {
        const text = nulTerminated(await this.readMeta(raw));
        if (raw.typeflag === 'L') longName = text;
        else longLink = text;
        continue;
      }
      const entry = this.merge(raw, new Map([...this.globals, ...local]), longName, longLink);
      // Only regular files carry content; like Go's archive/tar, the size of other types is ignored.
      if (entry.type !== 'file') entry.size = 0;
      this.unread = entry.size;
      this.padding = (BLOCK_SIZE - (entry.size % BLOCK_SIZE)) % BLOCK_SIZE;
      return entry;
    }
  }

  /** Streams the content of the entry that {@link next} returned last. */
  async *content(): AsyncGenerator<Buffer> {
    const size = this.unread;
    this.unread = 0;
    yield* this.source.stream(size);
  }

  private async readMeta(raw: RawHeader): Promise<Buffer> {
    if (raw.size > MAX_META_SIZE) {
      throw new LayerError(
        'INVALID_TAR',
        `tar extended header "${raw.name}" is ${raw.size} bytes, over the 16 MiB limit`,
      );
    }
    const data = (await this.source.readExact(raw.size)) ?? Buffer.alloc(0);
    await this.source.skip((BLOCK_SIZE - (raw.size % BLOCK_SIZE)) % BLOCK_SIZE);
    return Buffer.from(data);
  }

  private merge(
    raw: RawHeader,
    pax: Map<string, Buffer>,
    longName: string | undefined,
    longLink: string | undefined,
  ): TarEntry {
    const text = (key: string): string | undefined => pax.get(key)?.toString('utf8');
    const name = text('path') ?? longName ?? raw.name;
    const type = TYPES[raw.typeflag];
    if (type === undefined) {
      throw new LayerError(
        'UNSUPPORTED_ENTRY',
        `tar entry "${name}" has unsupported type "${raw.typeflag}"`,
        {
          hint: 'Layers may hold files, directories, links, devices and FIFOs only; sparse and multi-volume entries are not supported.',
        },
      );
    }
    for (const key of pax.keys()) {
      if (key.startsWith('GNU.sparse.')) {
        throw new LayerError(
          'UNSUPPORTED_ENTRY',
          `tar entry "${name}" is a GNU sparse file, which is not supported`,
          {
            hint: 'Rebuild the layer without --sparse.',
          },
        );
      }
    }

    const xattrs = new Map<string, Buffer>();
    for (const [key, value] of pax) {
      if (key.startsWith('SCHILY.xattr.')) xattrs.set(key.slice('SCHILY.xattr.'.length), value);
      else if (key.startsWith('LIBARCHIVE.xattr.')) {
        xattrs.set(
          decodeURIComponent(key.slice('LIBARCHIVE.xattr.'.length)),
          Buffer.from(value.toString('latin1'), 'base64'),
        );
      }
    }

    const mtime = text('mtime');
    const atime = text('atime');
    return {
      name,
      type: type === 'file' && name.endsWith('/') ? 'directory' : type,
      mode: raw.mode & 0o7777,
      uid: paxInteger(text('uid'), raw.uid, name),
      gid: paxInteger(text('gid'), raw.gid, name),
      uname: text('uname') ?? raw.uname,
      gname: text('gname') ?? raw.gname,
      size: paxInteger(text('size'), raw.size, name),
      mtimeNs:
        mtime !== undefined ? parsePaxTime(mtime, name) : BigInt(raw.mtimeSeconds) * 1_000_000_000n,
      atimeNs: atime !== undefined ? parsePaxTime(atime, name) : undefined,
      linkname: text('linkpath') ?? longLink ?? raw.linkname,
      devmajor: raw.devmajor,
      devminor: raw.devminor,
      xattrs,
    };
  }
}

/** Parses `LEN key=value\n` records; values stay bytes because xattr values are binary. */
function parsePax(data: Buffer, headerName: string): Map<string, Buffer> {
  const records = new Map<string, Buffer>();
  let offset = 0;
  while (offset < data.length) {
    if (data[offset] === 0) break;
    const space = data.indexOf(0x20, offset);
    const length = space === -1 ? NaN : Number(data.toString('latin1', offset, space));
    const end = offset + length;
    if (!Number.isInteger(length) || length <= 0 || end > data.length || data[end - 1] !== 0x0a) {
      throw new LayerError(
        'INVALID_TAR',
        `invalid PAX record at offset ${offset} of extended header "${headerName}"`,
        {
          hint: 'The layer is corrupt; fetch the blob again.',
        },
      );
    }
    const equals = data.indexOf(0x3d, space + 1);
    if (equals === -1 || equals >= end) {
      throw new LayerError(
        'INVALID_TAR',
        `PAX record without "=" in extended header "${headerName}"`,
      );
    }
    records.set(data.toString('utf8', space + 1, equals), data.subarray(equals + 1, end - 1));
    offset = end;
  }
  return records;
}

function paxInteger(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new LayerError('INVALID_TAR', `invalid PAX number "${value}" for tar entry "${name}"`);
  }
  return Number(value);
}

/** Parses PAX decimal seconds (`1700000000.5`, `-1.25`) to nanoseconds. */
function parsePaxTime(value: string, name: string): bigint {
  const match = /^(-?)(\d+)(?:\.(\d*))?$/.exec(value);
  if (match === null)
    throw new LayerError('INVALID_TAR', `invalid PAX time "${value}" for tar entry "${name}"`);
  const fraction = (match[3] ?? '').slice(0, 9).padEnd(9, '0');
  const ns = BigInt(match[2] ?? '0') * 1_000_000_000n + BigInt(fraction);
  return match[1] === '-' ? -ns : ns;
}

function nulTerminated(data: Buffer): string {
  const end = data.indexOf(0);
  return data.toString('utf8', 0, end === -1 ? data.length : end);
}
