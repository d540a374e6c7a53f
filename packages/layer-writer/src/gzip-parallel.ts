import { Transform, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';

/** Options of {@link ParallelGzip}. */
export interface ParallelGzipOptions {
  /** zlib level, 0 (stored) to 9 (smallest); default 6. */
  level?: number;
  /** Uncompressed bytes per independently compressed block; default 1 MiB. */
  blockSize?: number;
  /** Blocks compressed at once on libuv's thread pool; default 3. */
  concurrency?: number;
}

const WINDOW = 32 * 1024;
const DEFAULT_BLOCK = 1024 * 1024;

/**
 * A gzip compressor that deflates blocks on several threads at once and joins them into one
 * gzip member, the way pigz does. Each block is primed with the previous block's last 32 KiB as
 * a dictionary, so the ratio stays close to single-threaded gzip. Each block but the last ends
 * with a sync flush, which byte-aligns it without marking the end of the deflate stream.
 * The CRC-32 and length of the trailer are computed over the input in order.
 */
export class ParallelGzip extends Transform {
  private readonly level: number;
  private readonly blockSize: number;
  private readonly concurrency: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private dictionary: Buffer | undefined;
  private readonly inFlight: Array<Promise<Buffer>> = [];
  private crc = 0;
  private inputSize = 0;
  private headerPushed = false;

  constructor(options: ParallelGzipOptions = {}) {
    super();
    this.level = options.level ?? 6;
    this.blockSize = Math.max(options.blockSize ?? DEFAULT_BLOCK, WINDOW);
    this.concurrency = Math.max(options.concurrency ?? 3, 1);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.accept(chunk).then(() => callback(), callback);
  }

  override _flush(callback: TransformCallback): void {
    this.finish().then(() => callback(), callback);
  }

  private async accept(chunk: Buffer): Promise<void> {
    this.crc = zlib.crc32(chunk, this.crc);
    this.inputSize += chunk.length;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    while (this.pendingBytes >= this.blockSize) {
      const joined =
        this.pending.length === 1
          ? this.pending[0]!
          : Buffer.concat(this.pending, this.pendingBytes);
      const rest = joined.subarray(this.blockSize);
      this.pending = rest.length > 0 ? [rest] : [];
      this.pendingBytes = rest.length;
      await this.dispatch(joined.subarray(0, this.blockSize), false);
    }
  }

  private async finish(): Promise<void> {
    const last = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    await this.dispatch(last, true);
    while (this.inFlight.length > 0) this.pushCompressed(await this.inFlight.shift()!);
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(this.crc >>> 0, 0);
    trailer.writeUInt32LE(this.inputSize % 2 ** 32, 4);
    this.push(trailer);
  }

  /** Starts compressing a block, first waiting for the oldest block when the pool is full. */
  private async dispatch(block: Buffer, final: boolean): Promise<void> {
    const options: zlib.ZlibOptions = {
      level: this.level,
      finishFlush: final ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH,
      // One output buffer larger than deflate's worst case makes each block a single thread-pool
      // job; smaller buffers split a block into several jobs, each waiting for the main thread.
      chunkSize: block.length + (block.length >> 4) + 1024,
    };
    if (this.dictionary !== undefined) options.dictionary = this.dictionary;
    this.dictionary = nextDictionary(this.dictionary, block);

    const job = new Promise<Buffer>((resolve, reject) => {
      zlib.deflateRaw(block, options, (error, result) => (error ? reject(error) : resolve(result)));
    });
    // A failed block is reported when it is awaited in order; this only silences the early rejection.
    job.catch(() => undefined);
    this.inFlight.push(job);
    while (this.inFlight.length >= this.concurrency)
      this.pushCompressed(await this.inFlight.shift()!);
  }

  private pushCompressed(data: Buffer): void {
    if (!this.headerPushed) {
      this.headerPushed = true;
      this.push(gzipHeader(this.level));
    }
    if (data.length > 0) this.push(data);
  }
}

/** Returns the last 32 KiB of everything compressed so far, which the next block may refer back to. */
function nextDictionary(previous: Buffer | undefined, block: Buffer): Buffer {
  if (block.length >= WINDOW) return block.subarray(block.length - WINDOW);
  const joined = previous === undefined ? block : Buffer.concat([previous, block]);
  return joined.subarray(Math.max(0, joined.length - WINDOW));
}

/** Builds a fixed 10-byte gzip header (no name, mtime 0, OS "unknown"), so output depends only on input. */
function gzipHeader(level: number): Buffer {
  // XFL: 2 marks maximum compression and 4 the fastest, as RFC 1952 defines.
  let extraFlags = 0;
  if (level === 9) extraFlags = 2;
  if (level === 1) extraFlags = 4;
  return Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, extraFlags, 0xff]);
}
