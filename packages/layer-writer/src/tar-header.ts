import { LayerError } from './errors.js';

/** Entry kinds this package writes and applies. */
export type TarEntryType =
  | 'file'
  | 'hardlink'
  | 'symlink'
  | 'char'
  | 'block'
  | 'directory'
  | 'fifo';

/** The metadata of one tar entry, independent of how the header stores it. */
export interface TarHeader {
  /** Relative POSIX path, without a trailing slash for directories. */
  name: string;
  type: TarEntryType;
  /** Permission bits, setuid, setgid and sticky included (0o7777). */
  mode: number;
  uid: number;
  gid: number;
  uname?: string | undefined;
  gname?: string | undefined;
  /** Bytes of content; zero for everything but regular files. */
  size: number;
  /** Modification time in nanoseconds since the Unix epoch. */
  mtimeNs: bigint;
  linkname?: string | undefined;
  devmajor?: number | undefined;
  devminor?: number | undefined;
  xattrs?: ReadonlyMap<string, Buffer> | undefined;
}

export const BLOCK_SIZE = 512;
/** The two zero blocks that end an archive. */
export const END_OF_ARCHIVE = Buffer.alloc(BLOCK_SIZE * 2);

const TYPE_FLAGS: Record<TarEntryType, string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  char: '3',
  block: '4',
  directory: '5',
  fifo: '6',
};

const MAX_OCTAL_7 = 0o7777777;
const MAX_OCTAL_11 = 0o77777777777;
const NS_PER_SECOND = 1_000_000_000n;

/** Returns the zero padding that completes a block after `size` bytes of content. */
export function paddingFor(size: number): Buffer {
  const remainder = size % BLOCK_SIZE;
  return remainder === 0 ? Buffer.alloc(0) : Buffer.alloc(BLOCK_SIZE - remainder);
}

/**
 * Encodes one entry's header: a ustar block, preceded by a PAX extended header when a field
 * does not fit ustar (long or non-ASCII names, large ids or sizes, sub-second mtimes, xattrs).
 */
export function encodeHeader(header: TarHeader): Buffer {
  const name = header.type === 'directory' ? `${header.name}/` : header.name;
  const pax: Array<[string, string | Buffer]> = [];

  const split = splitUstarName(name);
  if (split === undefined) pax.push(['path', name]);
  const linkname = header.linkname ?? '';
  if (linkname !== '' && !fitsAscii(linkname, 100)) pax.push(['linkpath', linkname]);
  if (header.uid > MAX_OCTAL_7) pax.push(['uid', String(header.uid)]);
  if (header.gid > MAX_OCTAL_7) pax.push(['gid', String(header.gid)]);
  if (header.size > MAX_OCTAL_11) pax.push(['size', String(header.size)]);
  if (header.uname !== undefined && !fitsAscii(header.uname, 32)) pax.push(['uname', header.uname]);
  if (header.gname !== undefined && !fitsAscii(header.gname, 32)) pax.push(['gname', header.gname]);

  const seconds = floorDiv(header.mtimeNs, NS_PER_SECOND);
  const fraction = header.mtimeNs - seconds * NS_PER_SECOND;
  if (fraction !== 0n || seconds < 0n || seconds > BigInt(MAX_OCTAL_11)) {
    pax.push(['mtime', formatPaxTime(header.mtimeNs)]);
  }
  if (header.xattrs !== undefined) {
    for (const [key, value] of sortedEntries(header.xattrs)) {
      pax.push([`SCHILY.xattr.${key}`, value]);
    }
  }

  const block = Buffer.alloc(BLOCK_SIZE);
  const asciiName = split ?? { name: asciiFallback(name, 100), prefix: '' };
  block.write(asciiName.name, 0, 100, 'utf8');
  writeOctal(block, 100, 8, header.mode & 0o7777);
  writeOctal(block, 108, 8, header.uid > MAX_OCTAL_7 ? 0 : header.uid);
  writeOctal(block, 116, 8, header.gid > MAX_OCTAL_7 ? 0 : header.gid);
  writeOctal(block, 124, 12, header.size > MAX_OCTAL_11 ? 0 : header.size);
  writeOctal(block, 136, 12, seconds < 0n || seconds > BigInt(MAX_OCTAL_11) ? 0 : Number(seconds));
  block.write(TYPE_FLAGS[header.type], 156, 1, 'ascii');
  if (linkname !== '') block.write(asciiFallback(linkname, 100), 157, 100, 'utf8');
  block.write('ustar\u000000', 257, 8, 'ascii');
  if (header.uname !== undefined) block.write(asciiFallback(header.uname, 32), 265, 32, 'utf8');
  if (header.gname !== undefined) block.write(asciiFallback(header.gname, 32), 297, 32, 'utf8');
  if (header.type === 'char' || header.type === 'block') {
    writeOctal(block, 329, 8, header.devmajor ?? 0);
    writeOctal(block, 337, 8, header.devminor ?? 0);
  }
  if (asciiName.prefix !== '') block.write(asciiName.prefix, 345, 155, 'utf8');
  writeChecksum(block);

  if (pax.length === 0) return block;
  return Buffer.concat([encodePaxHeader(name, pax), block]);
}

function encodePaxHeader(name: string, records: Array<[string, string | Buffer]>): Buffer {
  const body = Buffer.concat(records.map(([key, value]) => encodePaxRecord(key, value)));
  const base = name.replace(/\/$/, '').split('/').pop() ?? '';
  const block = Buffer.alloc(BLOCK_SIZE);
  // Readers ignore this name. It only has to be deterministic, so it contains no pid or counter.
  block.write(asciiFallback(`PaxHeaders/${base}`, 100), 0, 100, 'utf8');
  writeOctal(block, 100, 8, 0o644);
  writeOctal(block, 108, 8, 0);
  writeOctal(block, 116, 8, 0);
  writeOctal(block, 124, 12, body.length);
  writeOctal(block, 136, 12, 0);
  block.write('x', 156, 1, 'ascii');
  block.write('ustar\u000000', 257, 8, 'ascii');
  writeChecksum(block);
  return Buffer.concat([block, body, paddingFor(body.length)]);
}

/** Encodes `LEN key=value\n`, where LEN counts the whole record in bytes, itself included. */
function encodePaxRecord(key: string, value: string | Buffer): Buffer {
  const payload = Buffer.concat([Buffer.from(` ${key}=`), Buffer.from(value), Buffer.from('\n')]);
  let length = payload.length + 1;
  while (String(length).length + payload.length !== length)
    length = String(length).length + payload.length;
  return Buffer.concat([Buffer.from(String(length)), payload]);
}

/** Formats nanoseconds as PAX decimal seconds, such as `1700000000.123456789` or `-1.5`. */
function formatPaxTime(ns: bigint): string {
  const sign = ns < 0n ? '-' : '';
  const magnitude = ns < 0n ? -ns : ns;
  const seconds = magnitude / NS_PER_SECOND;
  const fraction = (magnitude % NS_PER_SECOND).toString().padStart(9, '0').replace(/0+$/, '');
  return fraction === '' ? `${sign}${seconds}` : `${sign}${seconds}.${fraction}`;
}

/** Returns map entries sorted by key, so PAX records come out in a stable order. */
function sortedEntries<T>(map: ReadonlyMap<string, T>): Array<[string, T]> {
  return [...map].sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

function floorDiv(a: bigint, b: bigint): bigint {
  const quotient = a / b;
  return a % b !== 0n && a < 0n ? quotient - 1n : quotient;
}

/** Splits a name into ustar's 155-byte prefix and 100-byte name, or returns undefined. */
function splitUstarName(name: string): { name: string; prefix: string } | undefined {
  if (!isAscii(name)) return undefined;
  if (name.length <= 100) return { name, prefix: '' };
  // Splits at a slash, so prefix + '/' + name is the full path. A directory's trailing slash
  // stays in the name part.
  for (let index = name.indexOf('/'); index !== -1; index = name.indexOf('/', index + 1)) {
    const prefix = name.slice(0, index);
    const rest = name.slice(index + 1);
    if (prefix.length > 155) return undefined;
    if (rest.length <= 100 && rest !== '' && rest !== '/') return { name: rest, prefix };
  }
  return undefined;
}

function isAscii(value: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /^[\u0001-\u007f]*$/.test(value);
}

function fitsAscii(value: string, size: number): boolean {
  return isAscii(value) && value.length <= size;
}

/** Returns an ASCII stand-in for a field whose real value is stored in a PAX record. */
function asciiFallback(value: string, size: number): string {
  // eslint-disable-next-line no-control-regex
  return value.replace(/[^\u0001-\u007f]/g, '_').slice(0, size);
}

function writeOctal(block: Buffer, offset: number, size: number, value: number): void {
  block.write(`${value.toString(8).padStart(size - 1, '0')}\u0000`, offset, size, 'ascii');
}

function writeChecksum(block: Buffer): void {
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'ascii');
}

/** A ustar or GNU header block as stored, before PAX and GNU long-name records are merged in. */
export interface RawHeader {
  name: string;
  typeflag: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtimeSeconds: number;
  linkname: string;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
}

/**
 * Decodes one header block, or returns undefined for a zero block (the end of the archive).
 * `position` is the byte offset of the block, used in error messages.
 */
export function decodeHeader(block: Buffer, position: number): RawHeader | undefined {
  if (block.every((byte) => byte === 0)) return undefined;
  const stored = parseNumber(block, 148, 8, position);
  if (stored !== unsignedChecksum(block) && stored !== signedChecksum(block)) {
    throw new LayerError('INVALID_TAR', `invalid tar header checksum at byte ${position}`, {
      hint: 'The layer is corrupt or not a tar archive; fetch the blob again.',
    });
  }
  const magic = block.toString('latin1', 257, 263);
  let name = readString(block, 0, 100);
  if (magic === 'ustar\u0000') {
    const prefix = readString(block, 345, 155);
    if (prefix !== '') name = `${prefix}/${name}`;
  }
  const typeflag = block[156] === 0 ? '0' : String.fromCharCode(block[156] ?? 0);
  return {
    name,
    typeflag,
    mode: parseNumber(block, 100, 8, position),
    uid: parseNumber(block, 108, 8, position),
    gid: parseNumber(block, 116, 8, position),
    size: parseNumber(block, 124, 12, position),
    mtimeSeconds: parseNumber(block, 136, 12, position),
    linkname: readString(block, 157, 100),
    uname: readString(block, 265, 32),
    gname: readString(block, 297, 32),
    devmajor: parseNumber(block, 329, 8, position),
    devminor: parseNumber(block, 337, 8, position),
  };
}

function readString(block: Buffer, offset: number, size: number): string {
  const field = block.subarray(offset, offset + size);
  const end = field.indexOf(0);
  return field.toString('utf8', 0, end === -1 ? size : end);
}

/** Parses an octal field, or a base-256 one (high bit of the first byte set), as GNU tar writes. */
function parseNumber(block: Buffer, offset: number, size: number, position: number): number {
  const first = block[offset] ?? 0;
  if ((first & 0x80) !== 0) {
    if ((first & 0x40) !== 0) {
      throw new LayerError(
        'INVALID_TAR',
        `negative base-256 number in the tar header at byte ${position}`,
      );
    }
    let value = BigInt(first & 0x7f);
    for (let index = offset + 1; index < offset + size; index++)
      value = (value << 8n) | BigInt(block[index] ?? 0);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new LayerError('INVALID_TAR', `number too large in the tar header at byte ${position}`);
    }
    return Number(value);
  }
  const field = block.toString('latin1', offset, offset + size);
  const nul = field.indexOf('\u0000');
  const text = (nul === -1 ? field : field.slice(0, nul)).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) {
    throw new LayerError(
      'INVALID_TAR',
      `invalid octal number "${text}" in the tar header at byte ${position}`,
      {
        hint: 'The layer is corrupt or not a tar archive; fetch the blob again.',
      },
    );
  }
  return Number.parseInt(text, 8);
}

function unsignedChecksum(block: Buffer): number {
  let sum = 0;
  for (let index = 0; index < BLOCK_SIZE; index++)
    sum += index >= 148 && index < 156 ? 0x20 : (block[index] ?? 0);
  return sum;
}

function signedChecksum(block: Buffer): number {
  let sum = 0;
  for (let index = 0; index < BLOCK_SIZE; index++) {
    const byte = index >= 148 && index < 156 ? 0x20 : (block[index] ?? 0);
    sum += byte > 127 ? byte - 256 : byte;
  }
  return sum;
}
