import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { DigestMismatchError, OciSpecError, SizeMismatchError } from './errors.js';

/** Digest algorithms registered by the OCI image spec. */
export type DigestAlgorithm = 'sha256' | 'sha512';

export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  /** Lower-case hex of the hash. */
  encoded: string;
}

// Grammar of the OCI image spec (descriptor.md): algorithm ":" encoded.
const DIGEST_GRAMMAR = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const ENCODED_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };

/** Parses `sha256:<64 hex>` or `sha512:<128 hex>`; throws OciSpecError naming the value otherwise. */
export function parseDigest(value: string): ParsedDigest {
  if (typeof value !== 'string' || !DIGEST_GRAMMAR.test(value)) {
    throw new OciSpecError('INVALID_DIGEST', `invalid digest ${JSON.stringify(value)}`, {
      hint: 'A digest is "sha256:" followed by 64 lower-case hex characters.',
    });
  }
  const separator = value.indexOf(':');
  const algorithm = value.slice(0, separator);
  const encoded = value.slice(separator + 1);
  if (algorithm !== 'sha256' && algorithm !== 'sha512') {
    throw new OciSpecError(
      'UNSUPPORTED_DIGEST_ALGORITHM',
      `unsupported digest algorithm "${algorithm}" in ${value}`,
      {
        hint: 'Use a sha256 or sha512 digest.',
      },
    );
  }
  const length = ENCODED_LENGTH[algorithm];
  if (encoded.length !== length || !/^[a-f0-9]+$/.test(encoded)) {
    throw new OciSpecError(
      'INVALID_DIGEST',
      `invalid ${algorithm} digest ${JSON.stringify(value)}`,
      {
        hint: `A ${algorithm} digest has ${length} lower-case hex characters after "${algorithm}:".`,
      },
    );
  }
  return { algorithm, encoded };
}

/** Returns true when parseDigest would accept the value. */
export function isValidDigest(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  try {
    parseDigest(value);
    return true;
  } catch {
    return false;
  }
}

/** Returns the `sha256:<hex>` digest of a string (as UTF-8) or bytes. */
export function sha256Digest(data: string | Uint8Array): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Incremental hasher that returns the digest in OCI form and counts the bytes it saw. */
export class Digester {
  readonly algorithm: DigestAlgorithm;
  #hash: Hash;
  #size = 0;
  #result: string | undefined;

  constructor(algorithm: DigestAlgorithm = 'sha256') {
    this.algorithm = algorithm;
    this.#hash = createHash(algorithm);
  }

  update(data: string | Uint8Array): this {
    if (this.#result !== undefined) {
      throw new OciSpecError('STREAM_NOT_FINISHED', 'Digester.update called after digest()', {
        hint: 'Create a new Digester for each piece of content.',
      });
    }
    this.#size += typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
    this.#hash.update(data);
    return this;
  }

  /** Number of bytes hashed so far. */
  get size(): number {
    return this.#size;
  }

  /** Finishes the hash; later calls return the same digest. */
  digest(): string {
    this.#result ??= `${this.algorithm}:${this.#hash.digest('hex')}`;
    return this.#result;
  }
}

/** A pass-through stream that hashes what flows through it. */
export interface DigestStream extends Transform {
  /** The digest of everything that passed; throws before the stream has ended. */
  digest(): string;
  /** Bytes that passed so far. */
  readonly size: number;
}

class DigestTransform extends Transform implements DigestStream {
  readonly #digester: Digester;
  #finished = false;

  constructor(algorithm: DigestAlgorithm) {
    super();
    this.#digester = new Digester(algorithm);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#digester.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.#digester.digest();
    this.#finished = true;
    callback();
  }

  digest(): string {
    if (!this.#finished) {
      throw new OciSpecError('STREAM_NOT_FINISHED', 'digest requested before the stream ended', {
        hint: 'Read the stream to its end (for example with stream.pipeline) before asking for its digest.',
      });
    }
    return this.#digester.digest();
  }

  get size(): number {
    return this.#digester.size;
  }
}

/** Creates a pass-through Transform that exposes `.digest()` and `.size` once it has ended. */
export function createDigestStream(algorithm: DigestAlgorithm = 'sha256'): DigestStream {
  return new DigestTransform(algorithm);
}

export interface VerifyOptions {
  /** Expected digest; its algorithm selects the hash. */
  digest: string;
  /** Expected size in bytes; when given, reading more fails at once and fewer fails at end. */
  size?: number;
}

/** State of a verifying stream: a stream that stopped early has verified nothing. */
export type VerificationState = 'reading' | 'verified' | 'failed';

/** A pass-through stream that fails at end of stream when the content does not match. */
export interface VerifyingStream extends Transform {
  /** True only after the stream reached its end and both digest and size matched. */
  readonly verified: boolean;
  readonly state: VerificationState;
  /** Bytes that passed so far. */
  readonly size: number;
}

class VerifyingTransform extends Transform implements VerifyingStream {
  readonly #expectedDigest: string;
  readonly #expectedSize: number | undefined;
  readonly #digester: Digester;
  #state: VerificationState = 'reading';

  constructor(options: VerifyOptions) {
    super();
    const parsed = parseDigest(options.digest);
    if (options.size !== undefined && (!Number.isSafeInteger(options.size) || options.size < 0)) {
      throw new OciSpecError(
        'INVALID_DOCUMENT',
        `invalid expected size ${options.size} for ${options.digest}`,
        {
          hint: 'The size must be a non-negative integer number of bytes.',
        },
      );
    }
    this.#expectedDigest = options.digest;
    this.#expectedSize = options.size;
    this.#digester = new Digester(parsed.algorithm);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#digester.update(chunk);
    const expectedSize = this.#expectedSize;
    if (expectedSize !== undefined && this.#digester.size > expectedSize) {
      this.#state = 'failed';
      callback(new SizeMismatchError(expectedSize, this.#digester.size, this.#expectedDigest));
      return;
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    const size = this.#digester.size;
    if (this.#expectedSize !== undefined && size !== this.#expectedSize) {
      this.#state = 'failed';
      callback(new SizeMismatchError(this.#expectedSize, size, this.#expectedDigest));
      return;
    }
    const actual = this.#digester.digest();
    if (actual !== this.#expectedDigest) {
      this.#state = 'failed';
      callback(new DigestMismatchError(this.#expectedDigest, actual));
      return;
    }
    this.#state = 'verified';
    callback();
  }

  get verified(): boolean {
    return this.#state === 'verified';
  }

  get state(): VerificationState {
    return this.#state;
  }

  get size(): number {
    return this.#digester.size;
  }
}

/** Creates a pass-through Transform that errors at end of stream on a digest or size mismatch. */
export function createVerifyingStream(options: VerifyOptions): VerifyingStream {
  return new VerifyingTransform(options);
}

/** Reads a stream to its end and returns its digest and size. */
export async function digestReadable(
  source: AsyncIterable<Uint8Array | string>,
  algorithm: DigestAlgorithm = 'sha256',
): Promise<{ digest: string; size: number }> {
  const digester = new Digester(algorithm);
  for await (const chunk of source) digester.update(chunk);
  return { digest: digester.digest(), size: digester.size };
}
