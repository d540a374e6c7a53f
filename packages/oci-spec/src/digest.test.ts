import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import {
  createDigestStream,
  createVerifyingStream,
  Digester,
  digestReadable,
  isValidDigest,
  parseDigest,
  sha256Digest,
} from './digest.js';
import { DigestMismatchError, OciSpecError, SizeMismatchError } from './errors.js';

const HELLO_SHA256 = 'sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824';
const HELLO_SHA512 = `sha512:${createHash('sha512').update('hello').digest('hex')}`;

function sink(): Writable {
  return new Writable({ write: (_chunk, _encoding, callback) => callback() });
}

describe('parseDigest', () => {
  it.each([
    [HELLO_SHA256, 'sha256'],
    [HELLO_SHA512, 'sha512'],
  ])('accepts %s', (value, algorithm) => {
    const parsed = parseDigest(value);
    expect(parsed.algorithm).toBe(algorithm);
    expect(`${parsed.algorithm}:${parsed.encoded}`).toBe(value);
  });

  it.each([
    ['empty', '', 'INVALID_DIGEST'],
    [
      'no algorithm',
      '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824',
      'INVALID_DIGEST',
    ],
    ['upper-case hex', HELLO_SHA256.toUpperCase().replace('SHA256', 'sha256'), 'INVALID_DIGEST'],
    ['short hex', 'sha256:abc', 'INVALID_DIGEST'],
    ['sha512 length on sha256', `sha256:${'a'.repeat(128)}`, 'INVALID_DIGEST'],
    ['non-hex', `sha256:${'g'.repeat(64)}`, 'INVALID_DIGEST'],
    ['bad grammar', 'sha256::abc', 'INVALID_DIGEST'],
    ['upper-case algorithm', `SHA256:${'a'.repeat(64)}`, 'INVALID_DIGEST'],
    ['unregistered algorithm', `md5:${'a'.repeat(32)}`, 'UNSUPPORTED_DIGEST_ALGORITHM'],
    [
      'algorithm with separator',
      `multihash+base58:${'a'.repeat(20)}`,
      'UNSUPPORTED_DIGEST_ALGORITHM',
    ],
  ])('rejects %s', (_name, value, code) => {
    expect(() => parseDigest(value)).toThrow(OciSpecError);
    try {
      parseDigest(value);
    } catch (error) {
      expect((error as OciSpecError).code).toBe(code);
      expect((error as OciSpecError).hint).toBeTruthy();
    }
  });

  it('isValidDigest mirrors parseDigest', () => {
    expect(isValidDigest(HELLO_SHA256)).toBe(true);
    expect(isValidDigest('sha256:abc')).toBe(false);
    expect(isValidDigest(42)).toBe(false);
  });
});

describe('hashing', () => {
  it('sha256Digest hashes strings as UTF-8 and bytes as is', () => {
    expect(sha256Digest('hello')).toBe(HELLO_SHA256);
    expect(sha256Digest(new TextEncoder().encode('hello'))).toBe(HELLO_SHA256);
  });

  it('Digester hashes incrementally and counts bytes', () => {
    const digester = new Digester()
      .update('he')
      .update(new Uint8Array([0x6c, 0x6c]))
      .update('o');
    expect(digester.size).toBe(5);
    expect(digester.digest()).toBe(HELLO_SHA256);
    expect(digester.digest()).toBe(HELLO_SHA256);
  });

  it('Digester rejects update after digest', () => {
    const digester = new Digester();
    digester.digest();
    expect(() => digester.update('x')).toThrow(OciSpecError);
  });

  it('Digester supports sha512', () => {
    expect(new Digester('sha512').update('hello').digest()).toBe(HELLO_SHA512);
  });

  it('digestReadable reads a stream to its end', async () => {
    const result = await digestReadable(Readable.from([Buffer.from('hel'), Buffer.from('lo')]));
    expect(result).toEqual({ digest: HELLO_SHA256, size: 5 });
  });
});

describe('createDigestStream', () => {
  it('passes data through and reports digest and size at end', async () => {
    const stream = createDigestStream();
    const chunks: Buffer[] = [];
    await pipeline(
      Readable.from([Buffer.from('hel'), Buffer.from('lo')]),
      stream,
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          chunks.push(chunk);
          callback();
        },
      }),
    );
    expect(Buffer.concat(chunks).toString()).toBe('hello');
    expect(stream.digest()).toBe(HELLO_SHA256);
    expect(stream.size).toBe(5);
  });

  it('throws when asked for the digest before the end', () => {
    const stream = createDigestStream();
    stream.write('hel');
    expect(() => stream.digest()).toThrow(/before the stream ended/);
    expect(stream.size).toBe(3);
  });

  it('hashes an empty stream', async () => {
    const stream = createDigestStream();
    await pipeline(Readable.from([]), stream, sink());
    expect(stream.digest()).toBe(sha256Digest(''));
    expect(stream.size).toBe(0);
  });
});

describe('createVerifyingStream', () => {
  it('verifies matching content at end', async () => {
    const stream = createVerifyingStream({ digest: HELLO_SHA256, size: 5 });
    expect(stream.state).toBe('reading');
    await pipeline(Readable.from([Buffer.from('hello')]), stream, sink());
    expect(stream.verified).toBe(true);
    expect(stream.state).toBe('verified');
  });

  it('verifies sha512 content', async () => {
    const stream = createVerifyingStream({ digest: HELLO_SHA512 });
    await pipeline(Readable.from([Buffer.from('hello')]), stream, sink());
    expect(stream.verified).toBe(true);
  });

  it('fails at end on a digest mismatch', async () => {
    const stream = createVerifyingStream({ digest: HELLO_SHA256 });
    const run = pipeline(Readable.from([Buffer.from('hellO')]), stream, sink());
    await expect(run).rejects.toBeInstanceOf(DigestMismatchError);
    expect(stream.verified).toBe(false);
    expect(stream.state).toBe('failed');
  });

  it('fails on truncated content', async () => {
    const stream = createVerifyingStream({ digest: HELLO_SHA256, size: 5 });
    const run = pipeline(Readable.from([Buffer.from('hell')]), stream, sink());
    await expect(run).rejects.toBeInstanceOf(SizeMismatchError);
    expect(stream.state).toBe('failed');
  });

  it('fails as soon as content exceeds the size', async () => {
    const stream = createVerifyingStream({ digest: HELLO_SHA256, size: 5 });
    const chunks = [Buffer.from('hello'), Buffer.from('!')];
    const run = pipeline(Readable.from(chunks), stream, sink());
    await expect(run).rejects.toMatchObject({ code: 'SIZE_MISMATCH', expected: 5, actual: 6 });
    expect(stream.verified).toBe(false);
  });

  it('has verified nothing when the reader stops early', async () => {
    const stream = createVerifyingStream({ digest: HELLO_SHA256, size: 5 });
    stream.write('hel');
    expect(stream.verified).toBe(false);
    expect(stream.state).toBe('reading');
    stream.destroy();
    expect(stream.verified).toBe(false);
  });

  it('rejects an invalid expected digest at creation', () => {
    expect(() => createVerifyingStream({ digest: 'sha256:nope' })).toThrow(OciSpecError);
  });

  it('rejects a negative expected size', () => {
    expect(() => createVerifyingStream({ digest: HELLO_SHA256, size: -1 })).toThrow(
      /invalid expected size -1/,
    );
  });
});
