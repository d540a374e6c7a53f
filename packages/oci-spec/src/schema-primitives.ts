import { createHash } from 'node:crypto';
import { z } from 'zod';
import { isValidDigest } from './digest.js';

// RFC 6838 section 4.2: type "/" subtype, each a restricted-name of at most 127 characters.
const MEDIA_TYPE_GRAMMAR =
  /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

export const MediaTypeStringSchema = z.string().regex(MEDIA_TYPE_GRAMMAR, {
  message: 'invalid media type: expected "type/subtype" as in RFC 6838',
});

export const DigestStringSchema = z.string().refine(isValidDigest, {
  message: 'invalid digest: expected "sha256:" and 64 hex characters or "sha512:" and 128',
});

/** A byte count: a non-negative safe integer. */
export const SizeSchema = z.number().int().nonnegative();

export const AnnotationsSchema = z.record(z.string(), z.string());

const BASE64_GRAMMAR = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export const Base64Schema = z.string().regex(BASE64_GRAMMAR, { message: 'invalid base64 data' });

/** Checks an embedded `data` field against the descriptor's digest and size, as the OCI spec requires. */
export function checkEmbeddedData(
  descriptor: { data?: string | undefined; digest: string; size: number },
  context: z.RefinementCtx,
): void {
  if (descriptor.data === undefined || !isValidDigest(descriptor.digest)) return;
  const bytes = Buffer.from(descriptor.data, 'base64');
  if (bytes.byteLength !== descriptor.size) {
    context.addIssue({
      code: 'custom',
      path: ['data'],
      message: `embedded data is ${bytes.byteLength} bytes but size is ${descriptor.size}`,
    });
    return;
  }
  const algorithm = descriptor.digest.slice(0, descriptor.digest.indexOf(':'));
  const actual = `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
  if (actual !== descriptor.digest) {
    context.addIssue({
      code: 'custom',
      path: ['data'],
      message: `embedded data hashes to ${actual}, not ${descriptor.digest}`,
    });
  }
}
