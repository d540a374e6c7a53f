import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';

import { LayerError } from './errors.js';
import { zstdDecompressor, type ExternalFilter } from './external-filter.js';

/** A layer blob: a file path or an opener that returns a fresh stream on each call. */
export type LayerSource = string | (() => NodeJS.ReadableStream);

export type Compression = 'gzip' | 'zstd' | 'none';

/** The uncompressed tar stream of a layer blob, and the process to await for zstd. */
export interface OpenedLayer {
  compression: Compression;
  tar: Readable;
  /** Settles once an external decompressor has exited; resolved at once otherwise. */
  exited: Promise<void>;
}

/** Opens a layer blob and decompresses it according to its first bytes. */
export async function openLayer(source: LayerSource): Promise<OpenedLayer> {
  const raw: NodeJS.ReadableStream =
    typeof source === 'string' ? createReadStream(source) : source();
  const iterator = (raw as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let headBytes = 0;
  let done = false;
  while (headBytes < 6 && !done) {
    const next = await iterator.next();
    if (next.done === true) done = true;
    else {
      const chunk = Buffer.isBuffer(next.value)
        ? next.value
        : Buffer.from(next.value as Uint8Array);
      head.push(chunk);
      headBytes += chunk.length;
    }
  }
  const magic = Buffer.concat(head, headBytes);
  const replay = Readable.from(
    (async function* () {
      yield* head;
      if (done) return;
      for (let next = await iterator.next(); next.done !== true; next = await iterator.next())
        yield next.value as Buffer;
    })(),
    { objectMode: false },
  );

  const compression = detectCompression(magic);
  if (compression === 'gzip') {
    const gunzip = zlib.createGunzip();
    // pipe() does not forward errors, and a source that fails must fail the gunzip stream.
    replay.on('error', (error) => gunzip.destroy(error));
    return { compression, tar: replay.pipe(gunzip), exited: Promise.resolve() };
  }
  if (compression === 'zstd') return startZstd(replay);
  return { compression, tar: replay, exited: Promise.resolve() };
}

function startZstd(input: Readable): OpenedLayer {
  const filter: ExternalFilter = zstdDecompressor();
  input.on('error', (error) => filter.stream.destroy(error));
  input.pipe(filter.stream);
  return { compression: 'zstd', tar: filter.stream as unknown as Readable, exited: filter.exited };
}

/** Recognises gzip and zstd by their magic bytes; anything else must be a plain tar. */
export function detectCompression(magic: Buffer): Compression {
  if (magic[0] === 0x1f && magic[1] === 0x8b) return 'gzip';
  if (magic.length >= 4 && magic.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  if (
    magic.subarray(0, 3).toString('latin1') === 'BZh' ||
    magic.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0]))
  ) {
    throw new LayerError(
      'UNSUPPORTED_COMPRESSION',
      'the layer is compressed with bzip2 or xz, which is not supported',
      {
        hint: 'Recompress the layer with gzip or zstd.',
      },
    );
  }
  return 'none';
}
