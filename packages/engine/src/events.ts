import type { CacheMissExplanation } from '@kiln/cache';
import type { RegistryEvent } from '@kiln/registry-client';
import type { PluginBuildEvent } from './plugins/plugin-events.js';

/** Progress events of a build, in the order they happen; the engine never prints, a caller renders these. */
export type BuildEvent =
  | { type: 'build-start'; stages: number; target: string }
  /** A lint warning about the Dockerfile, or another problem that does not stop the build. */
  | { type: 'warning'; message: string; file: string | undefined; line: number | undefined }
  | { type: 'stage-start'; stage: number; name: string | undefined; base: string }
  | { type: 'base-resolved'; stage: number; reference: string; digest: string; layers: number }
  | { type: 'blob-download'; digest: string; size: number; cached: boolean }
  | {
      type: 'step-start';
      stage: number;
      step: number;
      steps: number;
      instruction: string;
      line: number;
    }
  | { type: 'step-output'; stage: number; step: number; line: string; stream: 'stdout' | 'stderr' }
  | {
      type: 'step-done';
      stage: number;
      step: number;
      /** `none`: the step has no cache lookup (no layer cache, a metadata instruction, or an uncached kind). */
      cache: 'hit' | 'miss' | 'none';
      /** For a miss: the nearest stored entry for the step and the inputs that differ. */
      explanation?: CacheMissExplanation;
      durationMs: number;
      layer: { digest: string; size: number } | undefined;
    }
  | {
      type: 'layer-written';
      digest: string;
      size: number;
      diffId: string;
      uncompressedSize: number;
    }
  | { type: 'image-assembled'; digest: string; configDigest: string; layers: number }
  /** Transfers, retries and fallbacks of the registry client, passed on unchanged. */
  | { type: 'registry'; event: RegistryEvent }
  | { type: 'push-start'; destination: string }
  | { type: 'push-done'; destination: string; digest: string }
  | { type: 'output-written'; kind: 'oci-layout' | 'tar' | 'digest-file'; path: string }
  | { type: 'build-done'; digest: string; durationMs: number }
  | PluginBuildEvent;

export type BuildEventType = BuildEvent['type'];
