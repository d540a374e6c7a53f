import {
  EMPTY_JSON_DIGEST,
  EMPTY_JSON_SIZE,
  hostPlatform,
  MediaType,
  parseImageManifest,
  parsePlatform,
  sha256Digest,
  type Descriptor,
  type ImageManifest,
} from '@kiln/oci-spec';
import { z } from 'zod';
import { CacheRecordSchema, describeIssue } from './record.js';
import type { CacheRecord } from './store.js';

/** Manifest annotation with the cache key of an entry. */
export const KEY_ANNOTATION = 'dev.kiln.cache.key';
/** Manifest annotation with the slot of an entry. */
export const SLOT_ANNOTATION = 'dev.kiln.cache.slot';
/** Manifest annotation that marks a deleted entry. */
export const DELETED_ANNOTATION = 'dev.kiln.cache.deleted';
const CREATED_ANNOTATION = 'org.opencontainers.image.created';
/** Image config field with the whole cache record; OCI readers ignore fields they do not know. */
const RECORD_FIELD = 'dev.kiln.cache.record';

/** One cache entry as an OCI image: a config with the record, and the cached layer. */
export interface CacheImage {
  configBytes: Uint8Array;
  configDescriptor: Descriptor;
  manifestBytes: Uint8Array;
  manifestDescriptor: Descriptor;
}

function encode(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}

/** Returns the 64 hex digits naming an entry: the sha256 of its key, valid as a tag and a file name. */
export function entryName(key: string): string {
  return sha256Digest(key).slice('sha256:'.length);
}

/**
 * Builds the image that stores one entry. The config is a valid OCI image config (so registries
 * and tools accept it) whose `rootfs` lists the layer and whose extra field contains the record.
 */
export function buildCacheImage(record: CacheRecord): CacheImage {
  const platform =
    record.inputs === undefined ? hostPlatform() : parsePlatform(record.inputs.platform);
  const config = {
    created: record.createdAt,
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant === undefined ? {} : { variant: platform.variant }),
    config: {},
    // NOTE: without a diffId the blob digest is used, which is right only for uncompressed layers.
    rootfs: { type: 'layers', diff_ids: [record.diffId ?? record.descriptor.digest] },
    history: [
      { created: record.createdAt, created_by: record.inputs?.instruction ?? 'kiln cache' },
    ],
    [RECORD_FIELD]: record,
  };
  const configBytes = encode(config);
  const configDescriptor: Descriptor = {
    mediaType: MediaType.OciConfig,
    digest: sha256Digest(configBytes),
    size: configBytes.length,
  };
  const annotations: Record<string, string> = {
    [KEY_ANNOTATION]: record.key,
    [CREATED_ANNOTATION]: record.createdAt,
  };
  if (record.slot !== undefined) annotations[SLOT_ANNOTATION] = record.slot;
  const manifestBytes = encode({
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: configDescriptor,
    layers: [record.descriptor],
    annotations,
  });
  return {
    configBytes,
    configDescriptor,
    manifestBytes,
    manifestDescriptor: {
      mediaType: MediaType.OciManifest,
      digest: sha256Digest(manifestBytes),
      size: manifestBytes.length,
    },
  };
}

/** Builds the manifest that replaces an entry when it is deleted; it references only the empty JSON blob. */
export function buildTombstone(key: string): {
  manifestBytes: Uint8Array;
  emptyConfig: Uint8Array;
} {
  const manifestBytes = encode({
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciEmptyJson, digest: EMPTY_JSON_DIGEST, size: EMPTY_JSON_SIZE },
    layers: [],
    annotations: { [KEY_ANNOTATION]: key, [DELETED_ANNOTATION]: 'true' },
  });
  return { manifestBytes, emptyConfig: new TextEncoder().encode('{}') };
}

/** Summary of an entry's manifest, read before its config. */
export type CacheManifestSummary =
  | { kind: 'entry'; manifest: ImageManifest; createdAt: string; slot: string | undefined }
  | { kind: 'deleted' }
  | { kind: 'invalid'; problem: string };

/** Reads an entry's manifest and checks that it belongs to `key`. */
export function readCacheManifest(bytes: Uint8Array, key: string): CacheManifestSummary {
  let manifest: ImageManifest;
  try {
    manifest = parseImageManifest(bytes);
  } catch (error) {
    return { kind: 'invalid', problem: (error as Error).message };
  }
  const annotations = manifest.annotations ?? {};
  if (annotations[KEY_ANNOTATION] !== key)
    return {
      kind: 'invalid',
      problem: `manifest stores key ${JSON.stringify(annotations[KEY_ANNOTATION] ?? null)}`,
    };
  if (annotations[DELETED_ANNOTATION] === 'true') return { kind: 'deleted' };
  const createdAt = annotations[CREATED_ANNOTATION];
  if (manifest.layers.length !== 1 || createdAt === undefined)
    return {
      kind: 'invalid',
      problem: 'manifest is not a kiln cache entry (one layer, a creation time)',
    };
  return { kind: 'entry', manifest, createdAt, slot: annotations[SLOT_ANNOTATION] };
}

const ConfigRecordSchema = z.object({ [RECORD_FIELD]: CacheRecordSchema });

/** Reads the record out of an entry's config and checks it against the manifest's layer. */
export function readCacheRecord(
  configBytes: Uint8Array,
  key: string,
  layer: Descriptor,
): { record: CacheRecord } | { problem: string } {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(configBytes));
  } catch (error) {
    return { problem: `config is not JSON (${(error as Error).message})` };
  }
  const parsed = ConfigRecordSchema.safeParse(value);
  if (!parsed.success) return { problem: `config ${describeIssue(parsed.error)}` };
  const record = parsed.data[RECORD_FIELD] as CacheRecord;
  if (record.key !== key) return { problem: `config stores key ${JSON.stringify(record.key)}` };
  if (record.descriptor.digest !== layer.digest || record.descriptor.size !== layer.size)
    return { problem: `config names blob ${record.descriptor.digest}, manifest ${layer.digest}` };
  return { record };
}
