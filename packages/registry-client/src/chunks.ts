import type { Readable } from 'node:stream';

/** Regroups a stream into buffers of exactly `size` bytes (the last may be shorter). */
export async function* chunksOf(source: Readable, size: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let length = 0;
  for await (const chunk of source) {
    let buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    while (length + buffer.length >= size) {
      const take = size - length;
      parts.push(buffer.subarray(0, take));
      yield Buffer.concat(parts);
      buffer = buffer.subarray(take);
      parts = [];
      length = 0;
    }
    if (buffer.length > 0) {
      parts.push(buffer);
      length += buffer.length;
    }
  }
  if (length > 0) yield Buffer.concat(parts);
}
