export {
  MediaType,
  OCI_LAYOUT_VERSION,
  EMPTY_JSON_DIGEST,
  EMPTY_JSON_SIZE,
  isLayerMediaType,
  isIndexMediaType,
  isManifestMediaType,
  layerCompressionOf,
  layerMediaType,
} from './media-types.js';
export type { KnownMediaType, LayerCompression, MediaTypeName } from './media-types.js';

export { DescriptorSchema, PlatformSchema } from './descriptor.js';
export type { Descriptor, Platform } from './descriptor.js';
export {
  DockerManifestListSchema,
  DockerManifestSchema,
  ImageIndexSchema,
  ImageManifestSchema,
  OciLayoutFileSchema,
} from './manifest.js';
export type {
  DockerManifest,
  DockerManifestList,
  ImageIndex,
  ImageManifest,
  OciLayoutFile,
} from './manifest.js';
export {
  ContainerConfigSchema,
  HealthcheckSchema,
  HistoryEntrySchema,
  ImageConfigSchema,
  RootFsSchema,
} from './config.js';
export type { ContainerConfig, Healthcheck, HistoryEntry, ImageConfig, RootFs } from './config.js';

export {
  parseImageConfig,
  parseImageIndex,
  parseImageManifest,
  parseManifestDocument,
  parseOciLayoutFile,
} from './parse.js';
export type { DocumentInput, ManifestDocument } from './parse.js';

export {
  Digester,
  createDigestStream,
  createVerifyingStream,
  digestReadable,
  isValidDigest,
  parseDigest,
  sha256Digest,
} from './digest.js';
export type {
  DigestAlgorithm,
  DigestStream,
  ParsedDigest,
  VerificationState,
  VerifyingStream,
  VerifyOptions,
} from './digest.js';

export { DOCKER_HUB_REGISTRY, ImageReference, parseReference, toReference } from './reference.js';
export type { ParseReferenceOptions } from './reference.js';

export {
  compatiblePlatforms,
  formatPlatform,
  hostPlatform,
  normalizePlatform,
  parsePlatform,
  platformMatches,
  selectManifest,
} from './platform.js';

export {
  DigestMismatchError,
  InvalidDocumentError,
  OciSpecError,
  SizeMismatchError,
} from './errors.js';
export type { OciSpecErrorCode, OciSpecErrorOptions } from './errors.js';
