import type { ChangeDetection } from '@kiln/fs-snapshot';
import type { ImageConfig, ImageManifest, Platform } from '@kiln/oci-spec';
import type { KilnPlugin } from '@kiln/plugin-api';
import type { RegistryClientOptions } from '@kiln/registry-client';
import type { BuildCacheSummary, LayerCacheOptions } from './cache/layer-cache.js';
import type { BuildEvent } from './events.js';
import type { NoneIsolation } from './isolation/none-options.js';
import type { SecretSource } from './run/run-mounts.js';
import type { SshSource } from './run/ssh-agent.js';

export interface BuildOptions {
  /**
   * The build context: a directory, a `.tar`/`.tar.gz` file, `tar://PATH`, `tar://stdin`, a git URL
   * (`git://…`, `https://….git#REF:SUBDIR`), or a URL a plugin's context source serves.
   */
  context: string;
  /** Directory inside the context to use as its root (kaniko's `--context-sub-path`). */
  contextSubPath?: string;
  /** Stream that `tar://stdin` reads; default the process's standard input. */
  contextStdin?: NodeJS.ReadableStream;
  /** Path of the Dockerfile; relative paths are tried against the working directory, then the context. Default `<context>/Dockerfile`. */
  dockerfile?: string;
  /** References to push the image to (every one of them). */
  destinations?: string[];
  buildArgs?: Record<string, string>;
  /** Name or index of the stage to build; default the last. */
  target?: string;
  /** Build without pushing; `destinations` still name the image in the tar and layout outputs. */
  noPush?: boolean;
  /** Directory of an OCI image layout to write (or add) the image to. */
  ociLayoutPath?: string;
  /** File to write a `docker load` tarball to. */
  tarPath?: string;
  /** File to write the manifest digest to. */
  digestFile?: string;
  /** File to write `REGISTRY/REPOSITORY@DIGEST` to, one line per destination (kaniko's flag of that name). */
  imageNameWithDigestFile?: string;
  /** File to write `REGISTRY/REPOSITORY:TAG@DIGEST` to, one line per destination. */
  imageNameTagWithDigestFile?: string;
  /** Secrets for RUN --mount=type=secret by id: a file (`src`) or an environment variable (`env`). */
  secrets?: Record<string, SecretSource>;
  /**
   * SSH agents for RUN --mount=type=ssh by id, as `docker build --ssh` takes them: no paths for
   * `$SSH_AUTH_SOCK`, an agent socket, or private key files that kiln loads into an `ssh-agent` it
   * starts for each RUN and stops after it. `parseSshSpec` reads the flag's text form.
   */
  ssh?: SshSource[];
  /** Paths inside the root filesystem that RUN snapshots leave out, like `/var/cache/apt`. */
  ignorePaths?: string[];
  /** Labels set on the image after the Dockerfile's own. */
  labels?: Record<string, string>;
  /** Push over plain HTTP. */
  insecure?: boolean;
  /** Pull over plain HTTP. */
  insecurePull?: boolean;
  /** Registries (host:port) reached over plain HTTP for pulls and pushes. */
  insecureRegistries?: string[];
  skipTlsVerify?: boolean;
  /** Registry name to replacement hosts, for example `{ 'docker.io': ['127.0.0.1:5000'] }`. */
  registryMap?: Record<string, string[]>;
  /** False builds every stage; default true builds only the stages the target needs. */
  skipUnusedStages?: boolean;
  /** Maximum number of independent stages built at the same time; default 3. */
  stageConcurrency?: number;
  /** Snapshotter that finds RUN's changes: 'auto' (default) uses overlay where it mounts, else walk. */
  snapshotter?: 'auto' | 'overlay' | 'walk';
  /** How the walk snapshotter decides a file changed (kaniko's `--snapshot-mode`); default 'full'. */
  snapshotMode?: ChangeDetection;
  /**
   * One layer per stage with all its changes, taken after its last instruction (kaniko's
   * `--single-snapshot`); history keeps one entry per instruction. Steps skip the layer cache.
   */
  singleSnapshot?: boolean;
  /** Before building, check that the credentials may push to every destination; default true. */
  checkPushPermission?: boolean;
  /** A destination that rejects the tag as immutable gives a warning, not a failure. */
  pushIgnoreImmutableTagErrors?: boolean;
  /** Media types of the manifest, config and layers: 'oci' (default) or Docker's v2 schema 2 ('docker'). */
  mediaTypes?: 'oci' | 'docker';
  /** Platform of the image (`linux/arm64/v8` or an object); default the host's. */
  platform?: string | Platform;
  /**
   * Further registry client settings (certificates, mirrors, TLS per registry, retries). A field
   * set here replaces what the fields above set; `onEvent` stays the engine's own.
   */
  registry?: Omit<RegistryClientOptions, 'onEvent'>;
  /** Compression of the layers the build writes; default gzip. Base layers keep theirs. */
  compression?: 'gzip' | 'zstd';
  /** gzip 0-9 (default 6) or zstd 1-22 (default 3). */
  compressionLevel?: number;
  /** Fixed timestamps, so the same inputs give the same digest. */
  reproducible?: boolean;
  /** Directory for the base-layer cache and stage root filesystems; default `KILN_DIR`, else a temp dir. */
  workDir?: string;
  /** Layer cache (`--cache`, `--cache-repo`) and cache directory (`--cache-dir`) settings. */
  cache?: LayerCacheOptions;
  /** Plugins to load, in order: npm package names or .js/.mjs paths (see `pluginBaseDir`), or plugin objects. */
  plugins?: Array<string | KilnPlugin>;
  /** Directory that plugin names and relative paths are resolved from; default the working directory. */
  pluginBaseDir?: string;
  /** RUN executor by name: `chroot` (the default, built in) or one a plugin provides. */
  executor?: string;
  /** Options for a plugin executor (`--executor-opt key=value`). */
  executorOptions?: Record<string, string>;
  /**
   * Isolation of the stages: 'chroot' (default: a root filesystem per stage, RUN in a chroot), or
   * `{ mode: 'none' }`, which builds on `/` itself inside a dedicated container, as kaniko does.
   */
  isolation?: 'chroot' | NoneIsolation;
  /** Retries of applying a base layer that failed to extract (kaniko's `--image-fs-extract-retry`); default 0. */
  imageFsExtractRetry?: number;
  /** Outputs that plugins serve (`--output type=NAME,key=value`), written after the built-in ones. */
  outputs?: Array<{ type: string; options: Record<string, string> }>;
  onEvent?: (event: BuildEvent) => void;
  /** Cancels the build: between steps, or by killing a running RUN; the build then rejects with BUILD_CANCELLED. */
  signal?: AbortSignal;
}

export interface OutputResult {
  kind: 'push' | 'oci-layout' | 'tar' | 'digest-file' | 'plugin';
  /** Output type of a plugin output (`kind: 'plugin'`). */
  type?: string;
  /** Destination reference or file path. */
  target: string;
  digest: string;
}

export interface BuildResult {
  /** Manifest digest, the image's identity in a registry. */
  digest: string;
  mediaType: string;
  manifest: ImageManifest;
  manifestBytes: Uint8Array;
  config: ImageConfig;
  configDigest: string;
  outputs: OutputResult[];
  /** Layer cache result of each file-system step; present when the build used a cache. */
  cache?: BuildCacheSummary;
}
