import type { Snapshotter } from '@kiln/fs-snapshot';
import type { BaseImageCache } from '@kiln/cache';
import type { LayerCache } from '../cache/layer-cache.js';
import type { DirectoryContext } from '../context/build-context.js';
import type { BuildEvent } from '../events.js';
import type { PluginRuntime } from '../plugins/plugin-runtime.js';
import type { SelectedExecutor } from '../plugins/run-executor.js';
import type { BlobStore } from '../image/blob-store.js';
import type { ImageBuilder } from '../image/image-builder.js';
import type { SecretSource } from '../run/run-mounts.js';
import type { SshAgentPool, SshSource } from '../run/ssh-agent.js';
import type { MetadataState } from './metadata-instructions.js';

/** The state of one stage while its instructions run. */
export interface StageRun {
  index: number;
  name: string | undefined;
  /** Host path where steps read and write the stage's root filesystem (`snapshotter.rootfs`). */
  rootfs: string;
  image: ImageBuilder;
  /** Shell, author and the CMD flag; `meta.config` is `image.containerConfig`. */
  meta: MetadataState;
  /** ARGs declared so far in the stage, with their values (undefined: declared without one). */
  args: Map<string, string | undefined>;
  snapshotter: Snapshotter;
  /**
   * With `--single-snapshot`, the snapshotter whose changes after the last step become the
   * stage's one layer; `snapshotter` then reports no changes to the steps.
   */
  stageSnapshotter?: Snapshotter;
  /**
   * With `--single-snapshot`, directories (relative to `rootfs`) that held RUN placeholders,
   * mapped to false once a command changed them too. The stage layer leaves out the others.
   */
  placeholderDirs?: Map<string, boolean>;
  /** False after an instruction wrote files without the snapshotter; the next RUN takes a new baseline first. */
  baselineCurrent: boolean;
}

/** Services and state that every stage of one build shares. */
export interface BuildServices {
  context: DirectoryContext;
  store: BlobStore;
  /** Scratch directory of this build (layers in progress, per-RUN files). */
  scratchDir: string;
  reproducible: boolean;
  compression: 'gzip' | 'zstd';
  compressionLevel: number | undefined;
  /** Build-arg values given to the build (`--build-arg`). */
  buildArgs: Readonly<Record<string, string>>;
  /** Values an ARG without a default takes when no build arg sets it: global ARGs and platform args. */
  argDefaults: Readonly<Record<string, string | undefined>>;
  /** Names of the ARGs that the built stages declared, to warn about unused build args. */
  declaredArgs: Set<string>;
  /** Finished stages by index, for COPY --from. */
  stages: Map<number, StageRun>;
  /** Repositories (`registry/repository`) that hold each base layer, so a push can mount instead of upload. */
  layerSources: Map<string, string[]>;
  /** Stage names (lower case) to indexes. */
  stageNames: Map<string, number>;
  emit(event: BuildEvent): void;
  /** Returns the root filesystem of an image named by COPY --from, pulling and unpacking it once. */
  imageRootfs(image: string): Promise<string>;
  /** Directory that keeps RUN --mount=type=cache contents between builds. */
  cacheMountDir: string;
  /** Directory that keeps ADD downloads and their validators, when a cache directory is set. */
  downloadCacheDir?: string | undefined;
  /** Secrets for RUN --mount=type=secret, by id. */
  secrets: Readonly<Record<string, SecretSource>>;
  /** SSH agents for RUN --mount=type=ssh (`--ssh`); optional so callers that build services need no change. */
  ssh?: readonly SshSource[];
  /** Agents started for `ssh` key files, kept from their first RUN until the build ends. */
  sshAgents?: SshAgentPool;
  /** Paths inside each root filesystem that RUN snapshots leave out. */
  ignorePaths: string[];
  /** The layer cache, when the build uses one (`cache.enabled`). */
  layerCache: LayerCache | undefined;
  /** Base images kept by digest in the cache directory, when one is set. */
  baseImageCache: BaseImageCache | undefined;
  /** Build handlers of plugins and what they need; undefined when no plugin is loaded. */
  plugins?: PluginRuntime;
  /** The plugin executor RUN uses instead of the built-in chroot, when one is selected. */
  runExecutor?: SelectedExecutor | undefined;
  /** Cancels the build between steps and kills a running RUN. */
  signal: AbortSignal | undefined;
}

/**
 * Returns the index of the stage that a `--from` value names: a stage name (any case) or a stage
 * index. Undefined means the value is an image reference.
 */
export function stageIndexOf(
  from: string,
  stageNames: ReadonlyMap<string, number>,
): number | undefined {
  const name = from.toLowerCase();
  return stageNames.get(name) ?? (/^\d+$/.test(name) ? Number(name) : undefined);
}
