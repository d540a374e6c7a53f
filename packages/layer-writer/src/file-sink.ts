import { closeSync, openSync, writeSync } from 'node:fs';
import { Writable } from 'node:stream';

/**
 * Creates a new file (failing if it exists) and returns a stream that writes to it with
 * synchronous writes. A write to the page cache costs less than a thread-pool round trip, and
 * the thread pool stays free for compression.
 */
export function createFileSink(filePath: string, highWaterMark: number): Writable {
  let descriptor: number | undefined = openSync(filePath, 'wx', 0o644);
  const close = (): void => {
    if (descriptor !== undefined) closeSync(descriptor);
    descriptor = undefined;
  };
  return new Writable({
    highWaterMark,
    writev(chunks, callback) {
      try {
        for (const { chunk } of chunks) writeFully(descriptor!, chunk as Buffer);
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    final(callback) {
      try {
        close();
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    destroy(error, callback) {
      try {
        close();
      } catch {
        // The stream already failed; the first error is the one to report.
      }
      callback(error);
    },
  });
}

function writeFully(descriptor: number, chunk: Buffer): void {
  for (let offset = 0; offset < chunk.length; ) offset += writeSync(descriptor, chunk, offset);
}
