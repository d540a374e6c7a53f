import { LayerError } from './errors.js';

/** Reads exact byte counts from an async iterable of buffers, keeping what is left over. */
export class ByteSource {
  private readonly iterator: AsyncIterator<Buffer>;
  private head: Buffer = Buffer.alloc(0);
  private ended = false;
  /** Bytes consumed so far. */
  position = 0;

  constructor(source: AsyncIterable<Buffer>) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  /** Returns the next `size` bytes, or undefined at a clean end; a partial read is an error. */
  async readExact(size: number): Promise<Buffer | undefined> {
    while (this.head.length < size && (await this.fill()));
    if (this.head.length === 0 && size > 0) return undefined;
    if (this.head.length < size) throw truncated(this.position + this.head.length);
    const result = this.head.subarray(0, size);
    this.head = this.head.subarray(size);
    this.position += size;
    return result;
  }

  /** Yields exactly `size` bytes in the pieces they arrive in. */
  async *stream(size: number): AsyncGenerator<Buffer> {
    let remaining = size;
    while (remaining > 0) {
      if (this.head.length === 0 && !(await this.fill())) throw truncated(this.position);
      const piece = this.head.subarray(0, Math.min(remaining, this.head.length));
      this.head = this.head.subarray(piece.length);
      this.position += piece.length;
      remaining -= piece.length;
      yield piece;
    }
  }

  /** Skips `size` bytes. */
  async skip(size: number): Promise<void> {
    for await (const _piece of this.stream(size));
  }

  /** Reads everything that is left, so that a digest over the whole stream is complete. */
  async drain(): Promise<void> {
    this.position += this.head.length;
    this.head = Buffer.alloc(0);
    while (await this.fill()) {
      this.position += this.head.length;
      this.head = Buffer.alloc(0);
    }
  }

  private async fill(): Promise<boolean> {
    if (this.ended) return false;
    const next = await this.iterator.next();
    if (next.done === true) {
      this.ended = true;
      return false;
    }
    const chunk = next.value;
    this.head = this.head.length === 0 ? chunk : Buffer.concat([this.head, chunk]);
    return true;
  }
}

function truncated(position: number): LayerError {
  return new LayerError(
    'INVALID_TAR',
    `the tar stream ends in the middle of an entry at byte ${position}`,
    {
      hint: 'The layer blob is truncated; fetch it again.',
    },
  );
}
