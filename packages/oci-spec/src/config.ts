import { z } from 'zod';
import { DigestStringSchema } from './schema-primitives.js';

// Docker writes `null` for empty lists and maps (Entrypoint, Labels, OnBuild, ...); they mean "unset".
function dropNullFields(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== null));
}

const EmptyObjectSchema = z.object({}).loose();

/** Health check of a container; durations are in nanoseconds, as Docker stores them. */
export const HealthcheckSchema = z
  .object({
    Test: z.array(z.string()).optional(),
    Interval: z.number().int().nonnegative().optional(),
    Timeout: z.number().int().nonnegative().optional(),
    StartPeriod: z.number().int().nonnegative().optional(),
    StartInterval: z.number().int().nonnegative().optional(),
    Retries: z.number().int().nonnegative().optional(),
  })
  .loose();
export type Healthcheck = z.infer<typeof HealthcheckSchema>;

/** Execution parameters of an image (`config` in the image config), with Docker's capitalised names. */
export const ContainerConfigSchema = z.preprocess(
  dropNullFields,
  z
    .object({
      User: z.string().optional(),
      ExposedPorts: z.record(z.string(), EmptyObjectSchema).optional(),
      Env: z.array(z.string()).optional(),
      Entrypoint: z.array(z.string()).optional(),
      Cmd: z.array(z.string()).optional(),
      Volumes: z.record(z.string(), EmptyObjectSchema).optional(),
      WorkingDir: z.string().optional(),
      Labels: z.record(z.string(), z.string()).optional(),
      StopSignal: z.string().optional(),
      Healthcheck: HealthcheckSchema.optional(),
      OnBuild: z.array(z.string()).optional(),
      Shell: z.array(z.string()).optional(),
      ArgsEscaped: z.boolean().optional(),
    })
    .loose(),
);
export type ContainerConfig = z.infer<typeof ContainerConfigSchema>;

/** One entry of an image's history; `empty_layer` marks instructions that added no layer. */
export const HistoryEntrySchema = z
  .object({
    created: z.string().optional(),
    created_by: z.string().optional(),
    author: z.string().optional(),
    comment: z.string().optional(),
    empty_layer: z.boolean().optional(),
  })
  .loose();
export type HistoryEntry = z.infer<typeof HistoryEntrySchema>;

export const RootFsSchema = z.object({
  type: z.literal('layers'),
  diff_ids: z.array(DigestStringSchema),
});
export type RootFs = z.infer<typeof RootFsSchema>;

/**
 * OCI image config v1.1 (also Docker's image config). Unknown fields are kept so that a base
 * image's config survives a parse and re-serialise.
 */
export const ImageConfigSchema = z
  .object({
    created: z.string().optional(),
    author: z.string().optional(),
    architecture: z.string().min(1),
    os: z.string().min(1),
    'os.version': z.string().optional(),
    'os.features': z.array(z.string()).optional(),
    variant: z.string().optional(),
    config: ContainerConfigSchema.optional(),
    rootfs: RootFsSchema,
    history: z.array(HistoryEntrySchema).optional(),
  })
  .loose();
export type ImageConfig = z.infer<typeof ImageConfigSchema>;
