import type { z } from 'zod';
import { ImageConfigSchema, type ImageConfig } from './config.js';
import { InvalidDocumentError, OciSpecError } from './errors.js';
import {
  DockerManifestListSchema,
  DockerManifestSchema,
  ImageIndexSchema,
  ImageManifestSchema,
  OciLayoutFileSchema,
  type ImageIndex,
  type ImageManifest,
  type OciLayoutFile,
} from './manifest.js';
import { isIndexMediaType, isManifestMediaType, MediaType } from './media-types.js';

/** A document given as JSON text, UTF-8 bytes, or an already parsed value. */
export type DocumentInput = string | Uint8Array | unknown;

export type ManifestDocument =
  | { kind: 'manifest'; manifest: ImageManifest }
  | { kind: 'index'; index: ImageIndex };

/** Formats a zod issue path as `layers[0].digest`. */
function formatPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const part of path) {
    if (typeof part === 'number') text += `[${part}]`;
    else text += text === '' ? String(part) : `.${String(part)}`;
  }
  return text === '' ? '(root)' : text;
}

function decodeJson(input: DocumentInput, documentKind: string): unknown {
  if (typeof input !== 'string' && !(input instanceof Uint8Array)) return input;
  const text =
    typeof input === 'string' ? input : new TextDecoder('utf-8', { fatal: false }).decode(input);
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new OciSpecError(
      'INVALID_JSON',
      `invalid ${documentKind}: not JSON (${(error as Error).message})`,
      {
        hint: `Check that the content is a JSON ${documentKind}.`,
        cause: error,
      },
    );
  }
}

function parseWith<S extends z.ZodType>(
  schema: S,
  input: DocumentInput,
  documentKind: string,
): z.output<S> {
  const value = decodeJson(input, documentKind);
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({
    path: formatPath(issue.path),
    message: issue.message,
  }));
  throw new InvalidDocumentError(documentKind, issues, { cause: result.error });
}

function rejectSchema1(value: unknown, documentKind: string): void {
  if (
    typeof value === 'object' &&
    value !== null &&
    (value as { schemaVersion?: unknown }).schemaVersion === 1
  ) {
    throw new OciSpecError(
      'UNSUPPORTED_MEDIA_TYPE',
      `unsupported ${documentKind}: Docker schema 1 manifests are not supported`,
      {
        hint: 'Push the image again with a current client, which writes schema 2 or OCI manifests.',
      },
    );
  }
}

/** Parses an OCI image manifest or a Docker schema 2 manifest. */
export function parseImageManifest(input: DocumentInput): ImageManifest {
  const value = decodeJson(input, 'image manifest');
  rejectSchema1(value, 'image manifest');
  if ((value as { mediaType?: unknown } | null)?.mediaType === MediaType.DockerManifest) {
    parseWith(DockerManifestSchema, value, 'Docker image manifest');
  }
  return parseWith(ImageManifestSchema, value, 'image manifest');
}

/** Parses an OCI image index or a Docker manifest list. */
export function parseImageIndex(input: DocumentInput): ImageIndex {
  const value = decodeJson(input, 'image index');
  if ((value as { mediaType?: unknown } | null)?.mediaType === MediaType.DockerManifestList) {
    parseWith(DockerManifestListSchema, value, 'Docker manifest list');
  }
  return parseWith(ImageIndexSchema, value, 'image index');
}

/** Parses an OCI or Docker image config. */
export function parseImageConfig(input: DocumentInput): ImageConfig {
  return parseWith(ImageConfigSchema, input, 'image config');
}

/** Parses the `oci-layout` file of an image layout. */
export function parseOciLayoutFile(input: DocumentInput): OciLayoutFile {
  return parseWith(OciLayoutFileSchema, input, 'oci-layout file');
}

/** Strips parameters such as `; charset=utf-8` from a Content-Type value. */
function baseMediaType(contentType: string): string {
  return contentType.split(';', 1)[0]!.trim().toLowerCase();
}

/**
 * Parses a manifest or an index. The kind comes from the given media type (a Content-Type) when it
 * names one, else from the document's `mediaType` field, else from its shape.
 */
export function parseManifestDocument(input: DocumentInput, mediaType?: string): ManifestDocument {
  const value = decodeJson(input, 'manifest');
  rejectSchema1(value, 'manifest');
  const declared = (value as { mediaType?: unknown } | null)?.mediaType;
  const given = mediaType === undefined ? undefined : baseMediaType(mediaType);
  const knownGiven =
    given !== undefined && (isIndexMediaType(given) || isManifestMediaType(given))
      ? given
      : undefined;

  if (knownGiven !== undefined && typeof declared === 'string' && declared !== knownGiven) {
    throw new OciSpecError(
      'INVALID_DOCUMENT',
      `invalid manifest: mediaType: the document declares ${declared} but was served as ${knownGiven}`,
      {
        hint: 'The registry or layout stores the manifest under the wrong media type; push it again.',
      },
    );
  }

  const effective = knownGiven ?? (typeof declared === 'string' ? declared : undefined);
  if (effective !== undefined) {
    if (isIndexMediaType(effective)) return { kind: 'index', index: parseImageIndex(value) };
    if (isManifestMediaType(effective))
      return { kind: 'manifest', manifest: parseImageManifest(value) };
    throw new OciSpecError(
      'UNSUPPORTED_MEDIA_TYPE',
      `unsupported manifest media type ${effective}`,
      {
        hint: `Expected one of ${MediaType.OciManifest}, ${MediaType.OciIndex}, ${MediaType.DockerManifest}, ${MediaType.DockerManifestList}.`,
      },
    );
  }

  const isIndexShaped = typeof value === 'object' && value !== null && 'manifests' in value;
  if (isIndexShaped) return { kind: 'index', index: parseImageIndex(value) };
  return { kind: 'manifest', manifest: parseImageManifest(value) };
}
