import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';

import { chunksOf } from './chunks.js';

async function collect(parts: string[], size: number): Promise<string[]> {
  const chunks: string[] = [];
  for await (const chunk of chunksOf(Readable.from(parts.map((part) => Buffer.from(part))), size)) {
    chunks.push(chunk.toString());
  }
  return chunks;
}

describe('chunksOf', () => {
  it('regroups into fixed sizes', async () => {
    expect(await collect(['ab', 'cdefg', 'h'], 3)).toEqual(['abc', 'def', 'gh']);
  });

  it('splits one large input several times', async () => {
    expect(await collect(['abcdefgh'], 2)).toEqual(['ab', 'cd', 'ef', 'gh']);
  });

  it('yields nothing for an empty stream', async () => {
    expect(await collect([], 4)).toEqual([]);
  });
});
