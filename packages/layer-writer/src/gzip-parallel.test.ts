import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';

import { ParallelGzip, type ParallelGzipOptions } from './gzip-parallel.js';

const BLOCK = 64 * 1024;

async function compress(
  input: Buffer,
  options: ParallelGzipOptions,
  pieceSize = 10_000,
): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for (let offset = 0; offset < input.length; offset += pieceSize)
    pieces.push(input.subarray(offset, offset + pieceSize));
  return buffer(Readable.from(pieces).pipe(new ParallelGzip(options)));
}

/** Text-like data from a fixed pseudo-random word sequence, which compresses about 3:1. */
function compressible(size: number): Buffer {
  const words =
    'layer digest manifest kiln registry blob tar gzip index config platform arm64 amd64 linux debian busybox'.split(
      ' ',
    );
  const parts: string[] = [];
  let length = 0;
  let state = 12345;
  while (length < size) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    const word = `${words[state % words.length]!}${state % 1000}`;
    parts.push(word, state % 11 === 0 ? '\n' : ' ');
    length += word.length + 1;
  }
  return Buffer.from(parts.join('')).subarray(0, size);
}

describe('ParallelGzip', () => {
  const sizes = [0, 1, 32 * 1024 - 1, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 17];
  for (const size of sizes) {
    it(`round-trips ${size} bytes through gzip -d`, async () => {
      const input = Buffer.concat([compressible(size >> 1), randomBytes(size - (size >> 1))]);
      const output = await compress(input, { blockSize: BLOCK, concurrency: 3 });
      expect(execFileSync('gzip', ['-dc'], { input: output }).equals(input)).toBe(true);
      expect(zlib.gunzipSync(output).equals(input)).toBe(true);
    });
  }

  it('writes a single gzip member', async () => {
    const output = await compress(compressible(5 * BLOCK), { blockSize: BLOCK });
    // gzip -l reports the trailer's length; a second member would make it disagree.
    expect(execFileSync('gzip', ['-lv'], { input: output }).toString()).toMatch(/\s327680\s/);
    expect(output.subarray(output.length - 4).readUInt32LE(0)).toBe(5 * BLOCK);
  });

  it('stays close to single-threaded zlib in size', async () => {
    const input = compressible(4 * BLOCK);
    for (const level of [1, 6, 9]) {
      const parallel = await compress(input, { blockSize: BLOCK, level });
      const single = zlib.gzipSync(input, { level });
      expect(parallel.length).toBeLessThan(single.length * 1.05);
    }
  });

  it('gives the same bytes whatever the concurrency', async () => {
    const input = Buffer.concat([compressible(3 * BLOCK), randomBytes(BLOCK)]);
    const one = await compress(input, { blockSize: BLOCK, concurrency: 1 });
    const four = await compress(input, { blockSize: BLOCK, concurrency: 4 }, 4096);
    expect(four.equals(one)).toBe(true);
  });
});
