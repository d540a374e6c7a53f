import { z } from 'zod';
import {
  AnnotationsSchema,
  Base64Schema,
  checkEmbeddedData,
  DigestStringSchema,
  MediaTypeStringSchema,
  SizeSchema,
} from './schema-primitives.js';

/** Platform of an image: the `platform` of an index entry and the matching fields of a config. */
export const PlatformSchema = z.object({
  architecture: z.string().min(1),
  os: z.string().min(1),
  'os.version': z.string().optional(),
  'os.features': z.array(z.string()).optional(),
  variant: z.string().optional(),
  features: z.array(z.string()).optional(),
});
export type Platform = z.infer<typeof PlatformSchema>;

/** A content descriptor: media type, digest and size of a blob, with optional extras. */
export const DescriptorSchema = z
  .object({
    mediaType: MediaTypeStringSchema,
    digest: DigestStringSchema,
    size: SizeSchema,
    urls: z.array(z.string()).optional(),
    annotations: AnnotationsSchema.optional(),
    data: Base64Schema.optional(),
    artifactType: MediaTypeStringSchema.optional(),
    platform: PlatformSchema.optional(),
  })
  .superRefine(checkEmbeddedData);
export type Descriptor = z.infer<typeof DescriptorSchema>;
