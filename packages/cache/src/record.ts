import { DescriptorSchema, isValidDigest } from '@kiln/oci-spec';
import { z } from 'zod';
import type { CacheRecord } from './store.js';

/** Version of the on-disk record format; a record of another version reads as invalid. */
export const RECORD_FORMAT_VERSION = 1;

const RecordFileSchema = z.object({
  formatVersion: z.literal(RECORD_FORMAT_VERSION),
  key: z.string().min(1),
  descriptor: DescriptorSchema,
  diffId: z.string().refine(isValidDigest, { message: 'invalid diffId digest' }).optional(),
  createdAt: z.string().min(1),
  annotations: z.record(z.string(), z.string()).optional(),
});

/** Serialises a record as the JSON stored in a key file. */
export function serializeRecord(record: CacheRecord): string {
  return `${JSON.stringify({ formatVersion: RECORD_FORMAT_VERSION, ...record })}\n`;
}

/** Parses a key file; returns a reason instead of throwing so that a bad file reads as a miss. */
export function parseRecord(
  text: string,
  expectedKey: string,
): { record: CacheRecord } | { problem: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { problem: `not JSON (${(error as Error).message})` };
  }
  const result = RecordFileSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    return { problem: `${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}` };
  }
  const { formatVersion: _formatVersion, ...record } = result.data;
  if (record.key !== expectedKey) return { problem: `stores key ${JSON.stringify(record.key)}` };
  return { record };
}
