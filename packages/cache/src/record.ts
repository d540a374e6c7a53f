import { DescriptorSchema, isValidDigest, type Descriptor } from '@kiln/oci-spec';
import { z } from 'zod';
import { cacheSlotOf, redactCacheKeyInputs } from './key-slot.js';
import type { CacheRecord, CachePutOptions } from './store.js';

/** Version of the on-disk record format; a record of another version reads as invalid. */
export const RECORD_FORMAT_VERSION = 1;

const digestString = z.string().refine(isValidDigest, { message: 'invalid digest' });
const stringMap = z.record(z.string(), z.string());

/** Schema of `StoredKeyInputs` inside a record. */
export const StoredKeyInputsSchema = z.object({
  parentKey: z.string().min(1),
  instruction: z.string().min(1),
  buildArgs: stringMap,
  env: stringMap,
  platform: z.string().min(1),
  sources: z.array(
    z.object({
      path: z.string(),
      digest: digestString,
      mode: z.number().int().optional(),
      uid: z.number().int().optional(),
      gid: z.number().int().optional(),
    }),
  ),
  extra: stringMap,
});

/** Schema of a record's fields, without the format version. */
export const CacheRecordSchema = z.object({
  key: z.string().min(1),
  descriptor: DescriptorSchema,
  diffId: digestString.optional(),
  createdAt: z.string().min(1),
  annotations: stringMap.optional(),
  slot: z.string().min(1).optional(),
  inputs: StoredKeyInputsSchema.optional(),
});

const RecordFileSchema = CacheRecordSchema.extend({
  formatVersion: z.literal(RECORD_FORMAT_VERSION),
});

/** Builds the record `put` stores for a blob, redacting the key inputs. */
export function buildRecord(
  key: string,
  descriptor: Descriptor,
  options: CachePutOptions,
  createdAt = new Date(),
): CacheRecord {
  const record: CacheRecord = { key, descriptor, createdAt: createdAt.toISOString() };
  if (options.diffId !== undefined) record.diffId = options.diffId;
  if (options.annotations !== undefined) record.annotations = { ...options.annotations };
  const slot =
    options.slot ?? (options.inputs === undefined ? undefined : cacheSlotOf(options.inputs));
  if (slot !== undefined) record.slot = slot;
  if (options.inputs !== undefined) record.inputs = redactCacheKeyInputs(options.inputs);
  return record;
}

/** Serialises a record as the JSON stored in a key file. */
export function serializeRecord(record: CacheRecord): string {
  return `${JSON.stringify({ formatVersion: RECORD_FORMAT_VERSION, ...record })}\n`;
}

/** Describes the first problem zod found, as `path: message`. */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  return `${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`;
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
  if (!result.success) return { problem: describeIssue(result.error) };
  const { formatVersion: _formatVersion, ...record } = result.data;
  if (record.key !== expectedKey) return { problem: `stores key ${JSON.stringify(record.key)}` };
  return { record: record as CacheRecord };
}

/** Returns true when a record is older than `ttlMs` at `now`. */
export function isExpired(
  record: Pick<CacheRecord, 'createdAt'>,
  ttlMs: number | undefined,
  now = Date.now(),
): boolean {
  if (ttlMs === undefined) return false;
  const created = Date.parse(record.createdAt);
  return Number.isNaN(created) || now - created > ttlMs;
}
