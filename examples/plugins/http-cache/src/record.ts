import type { CacheRecord } from '@kiln/cache';
import { DescriptorSchema, isValidDigest } from '@kiln/oci-spec';

/** Version of the JSON stored under `/ac/`; a record of another version reads as invalid. */
export const RECORD_FORMAT_VERSION = 1;

/** Serialises a record as the JSON body of an action-cache entry. */
export function serializeRecord(record: CacheRecord): string {
  return `${JSON.stringify({ formatVersion: RECORD_FORMAT_VERSION, ...record })}\n`;
}

function isStringMap(value: unknown): value is Record<string, string> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((entry) => typeof entry === 'string')
  );
}

/**
 * Parses an action-cache entry. It returns the problem instead of throwing, because an entry
 * that another tool or a broken upload left behind must read as corrupt, not fail the build.
 */
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
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { problem: 'not a JSON object' };

  const fields = value as Record<string, unknown>;
  if (fields.formatVersion !== RECORD_FORMAT_VERSION)
    return { problem: `formatVersion is ${JSON.stringify(fields.formatVersion)}, expected 1` };
  if (fields.key !== expectedKey) return { problem: `stores key ${JSON.stringify(fields.key)}` };
  const descriptor = DescriptorSchema.safeParse(fields.descriptor);
  if (!descriptor.success) {
    const issue = descriptor.error.issues[0];
    return { problem: `descriptor.${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}` };
  }
  if (typeof fields.createdAt !== 'string' || Number.isNaN(Date.parse(fields.createdAt)))
    return { problem: 'createdAt is not a timestamp' };
  if (fields.diffId !== undefined && !isValidDigest(fields.diffId))
    return { problem: `diffId ${JSON.stringify(fields.diffId)} is not a digest` };
  if (fields.annotations !== undefined && !isStringMap(fields.annotations))
    return { problem: 'annotations is not a map of strings' };

  const record: CacheRecord = {
    key: expectedKey,
    descriptor: descriptor.data,
    createdAt: fields.createdAt,
  };
  if (fields.diffId !== undefined) record.diffId = fields.diffId;
  if (fields.annotations !== undefined) record.annotations = { ...fields.annotations };
  return { record };
}
