import { z } from 'zod';
import { DescriptorSchema, PlatformSchema } from './descriptor.js';
import { MediaType } from './media-types.js';
import {
  AnnotationsSchema,
  DigestStringSchema,
  MediaTypeStringSchema,
  SizeSchema,
} from './schema-primitives.js';

/** OCI image manifest v1.1. Docker's schema 2 manifest has the same shape and also parses as one. */
export const ImageManifestSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.enum([MediaType.OciManifest, MediaType.DockerManifest]).optional(),
  artifactType: MediaTypeStringSchema.optional(),
  config: DescriptorSchema,
  layers: z.array(DescriptorSchema),
  subject: DescriptorSchema.optional(),
  annotations: AnnotationsSchema.optional(),
});
export type ImageManifest = z.infer<typeof ImageManifestSchema>;

/** OCI image index v1.1; also the shape of a layout's `index.json`. */
export const ImageIndexSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.enum([MediaType.OciIndex, MediaType.DockerManifestList]).optional(),
  artifactType: MediaTypeStringSchema.optional(),
  manifests: z.array(DescriptorSchema),
  subject: DescriptorSchema.optional(),
  annotations: AnnotationsSchema.optional(),
});
export type ImageIndex = z.infer<typeof ImageIndexSchema>;

const DockerDescriptorSchema = z.object({
  mediaType: MediaTypeStringSchema,
  size: SizeSchema,
  digest: DigestStringSchema,
  urls: z.array(z.string()).optional(),
});

/** Docker image manifest v2, schema 2. */
export const DockerManifestSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.literal(MediaType.DockerManifest),
  config: DockerDescriptorSchema.extend({ mediaType: z.literal(MediaType.DockerConfig) }),
  layers: z.array(DockerDescriptorSchema),
});
export type DockerManifest = z.infer<typeof DockerManifestSchema>;

/** Docker manifest list v2, schema 2: one manifest per platform. */
export const DockerManifestListSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.literal(MediaType.DockerManifestList),
  manifests: z.array(DockerDescriptorSchema.extend({ platform: PlatformSchema })),
});
export type DockerManifestList = z.infer<typeof DockerManifestListSchema>;

/** The `oci-layout` file at the root of an OCI image layout. */
export const OciLayoutFileSchema = z.object({
  imageLayoutVersion: z.string().min(1),
});
export type OciLayoutFile = z.infer<typeof OciLayoutFileSchema>;
