import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ParallelGzip } from './gzip-parallel.js';
import { makeTempDir } from './test-support/tree.js';

// Go's compress/gzip is the reader of containerd and the distribution tools, and it is stricter
// than zlib about multiple members and trailers. The Go toolchain is the Debian package golang-go.
const hasGo = spawnSync('go', ['version']).status === 0;

const READER = `package main

import (
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
)

func main() {
	reader, err := gzip.NewReader(os.Stdin)
	if err != nil {
		panic(err)
	}
	reader.Multistream(false)
	hash := sha256.New()
	if _, err := io.Copy(hash, reader); err != nil {
		panic(err)
	}
	fmt.Printf("%x\\n", hash.Sum(nil))
}
`;

let work: string;
let reader: string;

beforeAll(async () => {
  if (!hasGo) return;
  work = await makeTempDir('go');
  await mkdir(path.join(work, 'reader'));
  await writeFile(path.join(work, 'reader/main.go'), READER);
  reader = path.join(work, 'gzip-reader');
  execFileSync('go', ['build', '-o', reader, 'main.go'], {
    cwd: path.join(work, 'reader'),
    env: { ...process.env, GO111MODULE: 'off', GOCACHE: path.join(work, 'cache') },
  });
}, 180_000);

afterAll(async () => {
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe.skipIf(!hasGo)('ParallelGzip read by Go', () => {
  for (const size of [0, 100, 3 * 1024 * 1024 + 5]) {
    it(`reads ${size} bytes as one member`, async () => {
      const input = Buffer.concat([
        Buffer.alloc(size >> 1, 'kiln layer '),
        randomBytes(size - (size >> 1)),
      ]);
      const compressed = await buffer(
        Readable.from([input]).pipe(new ParallelGzip({ blockSize: 256 * 1024 })),
      );
      // With multistream off, Go stops after the first member, so a split output fails the hash.
      const hex = execFileSync(reader, { input: compressed }).toString().trim();
      expect(hex).toBe(execFileSync('sha256sum', { input }).toString().split(' ')[0]);
    });
  }
});
