import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PROXY_ARGS } from '@kiln/dockerfile-parser';
import type { ParsedDockerfile, Stage } from '@kiln/dockerfile-parser';
import { hostPlatform, normalizePlatform, parsePlatform } from '@kiln/oci-spec';
import type { Platform } from '@kiln/oci-spec';
import { RegistryClient } from '@kiln/registry-client';
import { applyLayers, pullBaseImage } from './base/base-image.js';
import type { ApplyLayersOptions } from './base/base-image.js';
import { LayerCache, openBaseImageCache } from './cache/layer-cache.js';
import { DirectoryContext } from './context/build-context.js';
import { openBuildContext } from './context/context-source.js';
import { readDockerfile } from './dockerfile-input.js';
import { EngineError, cancelledError } from './errors.js';
import type { BuildEvent } from './events.js';
import { BlobStore } from './image/blob-store.js';
import { ImageBuilder } from './image/image-builder.js';
import {
  NONE_ROOT,
  isStageReadLater,
  noneIsolation,
  openRootBuild,
  prepareNoneBuild,
} from './isolation/root-build.js';
import type { RootBuild } from './isolation/root-build.js';
import type { BuildOptions, BuildResult } from './options.js';
import { checkOutputPaths } from './output/check-outputs.js';
import { SshAgentPool, checkSshSource } from './run/ssh-agent.js';
import { checkPushPermissions } from './output/push-permission.js';
import { writeOutputs } from './output/write-outputs.js';
import { openBuildPlugins, parseBuildDockerfile, pluginRuntime } from './plugins/build-plugins.js';
import { openPluginCacheStore } from './plugins/cache-store.js';
import { loadPluginSet } from './plugins/load-plugins.js';
import { createPluginLogger, knownSecretValues } from './plugins/plugin-logger.js';
import type { PluginSet } from './plugins/plugin-set.js';
import { writePluginOutputs } from './plugins/output-targets.js';
import { createStageRun, runStageInstructions } from './stage/build-stage.js';
import { runStageGraph } from './stage/stage-graph.js';
import { openWorkDir } from './work-dir.js';
import type { BuildServices, StageRun } from './stage/stage-run.js';

/** Timestamp of every `created` field in a reproducible build: the Unix epoch, as kaniko writes it. */
const REPRODUCIBLE_CREATED = '1970-01-01T00:00:00Z';

/** Stages built at the same time when `stageConcurrency` is not set. */
const DEFAULT_STAGE_CONCURRENCY = 3;

/**
 * Builds the image that `options.dockerfile` describes from `options.context` and writes it to every
 * requested output (registry destinations, OCI layout, docker tarball, digest file).
 */
export async function build(requested: BuildOptions): Promise<BuildResult> {
  // Before anything else: --isolation=none empties /, so it starts only inside a container.
  const none = noneIsolation(requested);
  const options = none ? await prepareNoneBuild(requested, none) : requested;
  const emit = (event: BuildEvent): void => options.onEvent?.(event);
  await checkOutputPaths(options);
  for (const source of options.ssh ?? []) await checkSshSource(source);
  // Plugins load first, because one of them may serve the context's URL scheme.
  const set = await loadPluginSet(
    options.plugins ?? [],
    options.pluginBaseDir ?? process.cwd(),
    emit,
  );
  const secrets = knownSecretValues(options.secrets ?? {});
  const source = await openBuildContext(options.context, {
    subPath: options.contextSubPath,
    pluginSources: set.contextSources,
    logger: (plugin) => createPluginLogger(plugin, emit, secrets),
    stdin: options.contextStdin,
    signal: options.signal,
    // Under the work dir when one is set, because /tmp may be a small tmpfs.
    tempDir: options.workDir ?? process.env.KILN_DIR,
  });
  try {
    return await buildFromDirectory({ ...options, context: source.directory }, set);
  } catch (error) {
    // The paths tried are in a temporary directory, so the message also names where it came from.
    if (
      error instanceof EngineError &&
      error.code === 'DOCKERFILE_NOT_FOUND' &&
      source.directory !== path.resolve(options.context)
    )
      error.message = `${error.message} (context ${source.origin})`;
    throw error;
  } finally {
    await source.cleanup();
  }
}

/** Builds from a context that is already a local directory. */
async function buildFromDirectory(options: BuildOptions, set: PluginSet): Promise<BuildResult> {
  const started = Date.now();
  const emit = (event: BuildEvent): void => options.onEvent?.(event);
  const platform = targetPlatform(options.platform);
  const dockerfile = await readDockerfile(options);
  const context = await DirectoryContext.open(options.context, { dockerfile: dockerfile.file });
  const plugins = await openBuildPlugins(options, context, emit, set);
  const parsed = await parseBuildDockerfile(plugins, options, dockerfile, platform);

  const work = await openWorkDir(options.workDir ?? process.env.KILN_DIR);
  const client = new RegistryClient({
    insecure: options.insecureRegistries ?? [],
    insecurePull: options.insecurePull ?? false,
    insecurePush: options.insecure ?? false,
    skipTlsVerify: options.skipTlsVerify ?? false,
    registryMap: options.registryMap ?? {},
    ...options.registry,
    onEvent: (event) => emit({ type: 'registry', event }),
  });

  const baseImageCache = openBaseImageCache(options.cache?.dir, emit);
  const none = noneIsolation(options);
  let rootBuild: RootBuild | undefined;
  let layerCache: LayerCache | undefined;
  // Stage runs hold snapshot mounts; they are released before the work dir goes, also on failure.
  const stageRuns: StageRun[] = [];
  const sshAgents = new SshAgentPool(work.scratch);
  try {
    if (none) rootBuild = await openRootBuild(options, none, options.context, parsed);
    const applyOptions: ApplyLayersOptions = {
      retries: options.imageFsExtractRetry ?? 0,
      onRetry: (layer, attempt, error) =>
        emit({
          type: 'warning',
          message: `Extracting layer ${layer.digest} failed (attempt ${attempt}), retrying: ${(error as Error).message}`,
          file: undefined,
          line: undefined,
        }),
    };
    await checkPushPermissions(client, options);
    // Per-step cache entries cannot describe a stage that is snapshotted once, at its end.
    if (options.singleSnapshot && options.cache?.enabled) {
      emit({
        type: 'warning',
        message: 'The layer cache is not used with --single-snapshot',
        file: undefined,
        line: undefined,
      });
    }
    layerCache = LayerCache.open(options.singleSnapshot ? undefined : options.cache, {
      client,
      destinations: options.destinations ?? [],
      spoolDir: path.join(work.scratch, 'cache-spool'),
      emit,
      pluginStore: await openPluginCacheStore(plugins, options.cache),
    });
    const store = new BlobStore(path.join(work.root, 'blobs'));
    const imageRootfs = new Map<string, Promise<string>>();
    const pullImageRootfs = (image: string): Promise<string> => {
      let rootfs = imageRootfs.get(image);
      if (rootfs === undefined) {
        const dir = path.join(work.scratch, 'images', String(imageRootfs.size));
        rootfs = pullBaseImage(client, image, platform, store, emit, baseImageCache).then(
          async (pulled) => {
            await applyLayers(
              store,
              pulled.layers,
              pulled.config.rootfs.diff_ids,
              dir,
              applyOptions,
            );
            return dir;
          },
        );
        imageRootfs.set(image, rootfs);
      }
      return rootfs;
    };
    const services: BuildServices = {
      context,
      store,
      imageRootfs: pullImageRootfs,
      scratchDir: work.scratch,
      reproducible: options.reproducible ?? false,
      compression: options.compression ?? 'gzip',
      compressionLevel: options.compressionLevel,
      buildArgs: options.buildArgs ?? {},
      argDefaults: { ...parsed.platformArgs, ...parsed.metaArgValues },
      stages: new Map(),
      layerSources: new Map(),
      declaredArgs: new Set(
        parsed.metaArgs.flatMap((instruction) => instruction.args.map((arg) => arg.name)),
      ),
      signal: options.signal,
      ignorePaths: options.ignorePaths ?? [],
      cacheMountDir: options.cache?.dir
        ? path.join(path.resolve(options.cache.dir), 'run-mounts')
        : path.join(work.root, 'cache-mounts'),
      downloadCacheDir: options.cache?.dir
        ? path.join(path.resolve(options.cache.dir), 'downloads')
        : undefined,
      layerCache,
      baseImageCache,
      secrets: options.secrets ?? {},
      ssh: options.ssh ?? [],
      sshAgents,
      plugins: pluginRuntime(plugins, parsed, platform, work.scratch),
      runExecutor: rootBuild?.executor ?? plugins.executor,
      stageNames: new Map(
        parsed.stages.flatMap((s) =>
          s.name === undefined ? [] : [[s.name, s.index] as [string, number]],
        ),
      ),
      emit,
    };
    for (const warning of parsed.warnings) {
      emit({
        type: 'warning',
        message: `${warning.message} (${warning.rule}: ${warning.url})`,
        file: warning.location.file,
        line: warning.location.startLine,
      });
    }
    const created = options.reproducible ? REPRODUCIBLE_CREATED : new Date().toISOString();
    emit({
      type: 'build-start',
      stages: parsed.buildOrder.length,
      target: parsed.target.name ?? String(parsed.target.index),
    });

    // A failing stage cancels the others through this controller, as does the caller's signal.
    const stageAbort = new AbortController();
    const onAbort = (): void => stageAbort.abort(options.signal?.reason);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) onAbort();
    services.signal = stageAbort.signal;
    const order =
      options.skipUnusedStages === false ? parsed.stages.map((s) => s.index) : parsed.buildOrder;
    try {
      await runStageGraph(
        order,
        (index) => parsed.stages[index]?.dependsOn ?? [],
        options.stageConcurrency ?? DEFAULT_STAGE_CONCURRENCY,
        async (index) => {
          const stage = parsed.stages[index] as Stage;
          const run = await buildStage(stage, parsed, services, client, stageRuns, {
            platform,
            created,
            registryMap: options.registryMap,
            snapshotMode: options.snapshotter,
            changeDetection: options.snapshotMode,
            singleSnapshot: options.singleSnapshot ?? false,
            applyOptions,
            rootBuild,
          });
          // The next stage empties /, so a stage that others read is extracted under the work dir.
          if (rootBuild && isStageReadLater(parsed, index))
            await rootBuild.preserveStage(run, services.store, services.scratchDir);
          services.stages.set(index, run);
        },
        () => stageAbort.abort(new EngineError('BUILD_CANCELLED', 'Another stage failed')),
      );
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
    const last = services.stages.get(parsed.target.index);
    if (!last)
      throw new EngineError('UNKNOWN_STAGE', 'The target stage was not built', {
        hint: 'This is a bug in the stage graph; please report it with the Dockerfile.',
      });
    if (options.labels && Object.keys(options.labels).length > 0) {
      last.image.containerConfig.Labels = {
        ...last.image.containerConfig.Labels,
        ...options.labels,
      };
    }
    if (options.signal?.aborted) throw cancelledError(options.signal.reason);
    warnUnusedBuildArgs(services, emit);
    const image = last.image.assemble(options.mediaTypes ?? 'oci');
    emit({
      type: 'image-assembled',
      digest: image.digest,
      configDigest: image.configDescriptor.digest,
      layers: image.manifest.layers.length,
    });

    if (layerCache) {
      // Background cache uploads finish first, so the push can mount new layers from the cache repository.
      await layerCache.flush();
      const mountSources = layerCache.mountSources();
      for (const layer of image.manifest.layers)
        if (!services.layerSources.has(layer.digest) && mountSources.length > 0)
          services.layerSources.set(layer.digest, mountSources);
    }
    const outputs = await writeOutputs(
      image,
      services.store,
      client,
      options,
      emit,
      services.layerSources,
    );
    outputs.push(
      ...(await writePluginOutputs(plugins.outputs, image, services.store, { ...plugins, emit })),
    );
    emit({ type: 'build-done', digest: image.digest, durationMs: Date.now() - started });
    return {
      digest: image.digest,
      mediaType: image.mediaType,
      manifest: image.manifest,
      manifestBytes: image.manifestBytes,
      config: image.config,
      configDigest: image.configDescriptor.digest,
      outputs,
      ...(layerCache ? { cache: layerCache.summary() } : {}),
    };
  } finally {
    await sshAgents.close();
    await layerCache?.close().catch(() => undefined);
    await Promise.allSettled(stageRuns.map((run) => run.snapshotter.release()));
    if (rootBuild && none?.cleanup) await rootBuild.emptyRoot();
    await client.close();
    await work.cleanup();
  }
}

async function buildStage(
  stage: Stage,
  parsed: ParsedDockerfile,
  services: BuildServices,
  client: RegistryClient,
  stageRuns: StageRun[],
  options: {
    platform: Platform;
    created: string;
    registryMap: BuildOptions['registryMap'];
    snapshotMode: BuildOptions['snapshotter'];
    changeDetection: BuildOptions['snapshotMode'];
    singleSnapshot: boolean;
    applyOptions: ApplyLayersOptions;
    rootBuild: RootBuild | undefined;
  },
): Promise<StageRun> {
  const { platform, created, rootBuild } = options;
  const applyOptions = rootBuild
    ? { ...options.applyOptions, keep: rootBuild.keep }
    : options.applyOptions;
  const rootfs = rootBuild
    ? NONE_ROOT
    : path.join(services.scratchDir, 'stages', String(stage.index), 'rootfs');
  if (rootBuild) await rootBuild.emptyRoot();
  else await mkdir(rootfs, { recursive: true });
  emit(services, {
    type: 'stage-start',
    stage: stage.index,
    name: stage.name,
    base: stage.from.image,
  });
  const stagePlatform = stage.from.platform ? parsePlatformOption(stage.from.platform) : platform;

  let image: ImageBuilder;
  let cacheParent = 'scratch';
  // With a layer cache the base is applied only when a step must run (see LayerCache.defer).
  let applyBase: ((target: string) => Promise<void>) | undefined;
  if (stage.from.stageRef !== undefined) {
    const parent = services.stages.get(stage.from.stageRef);
    if (!parent)
      throw new EngineError(
        'UNKNOWN_STAGE',
        `Stage ${stage.from.image} was not built before stage ${stage.index}`,
        { hint: 'This is a bug in the build order; please report it.' },
      );
    if (services.layerCache) cacheParent = services.layerCache.chainKey(parent);
    const parentImage = parent.image.assemble();
    applyBase = (target) =>
      applyLayers(
        services.store,
        parentImage.manifest.layers,
        parentImage.config.rootfs.diff_ids,
        target,
        applyOptions,
      );
    image = new ImageBuilder(
      { config: parentImage.config, layers: parentImage.manifest.layers },
      stagePlatform,
      created,
    );
  } else if (stage.from.scratch) {
    image = new ImageBuilder(undefined, stagePlatform, created);
  } else {
    const base = await pullBaseImage(
      client,
      stage.from.image,
      stagePlatform,
      services.store,
      services.emit,
      services.baseImageCache,
    );
    cacheParent = base.digest;
    emit(services, {
      type: 'base-resolved',
      stage: stage.index,
      reference:
        base.reference.name() + (base.reference.tag === undefined ? '' : `:${base.reference.tag}`),
      digest: base.digest,
      layers: base.layers.length,
    });
    applyBase = (target) =>
      applyLayers(services.store, base.layers, base.config.rootfs.diff_ids, target, applyOptions);
    const repository = base.reference.repository;
    const sources = [
      base.reference.name(),
      ...registryMapFor(options.registryMap, base.reference.registry).map(
        (host) => `${host}/${repository}`,
      ),
    ];
    for (const layer of base.layers) services.layerSources.set(layer.digest, sources);
    image = new ImageBuilder({ config: base.config, layers: base.layers }, stagePlatform, created);
  }

  if (applyBase && !services.layerCache) await applyBase(rootfs);
  const run = await createStageRun(stage, rootfs, image, {
    snapshotDir: path.join(services.scratchDir, 'snapshots'),
    buildArgs: services.buildArgs,
    ignorePaths: rootBuild ? [...services.ignorePaths, ...rootBuild.keep] : services.ignorePaths,
    // Overlay cannot be mounted over / while kiln runs on it, so a build on / walks.
    ...(rootBuild
      ? { snapshotMode: 'walk' as const }
      : options.snapshotMode
        ? { snapshotMode: options.snapshotMode }
        : {}),
    ...(options.changeDetection ? { changeDetection: options.changeDetection } : {}),
    singleSnapshot: options.singleSnapshot,
    onFallback: (reason) =>
      emit(services, {
        type: 'warning',
        message: `Overlay snapshots are unavailable, walking the file tree instead: ${reason}`,
        file: undefined,
        line: undefined,
      }),
  });
  stageRuns.push(run);
  rootBuild?.trackStage(run);
  services.layerCache?.startStage(run, cacheParent, stagePlatform);
  if (applyBase && services.layerCache) {
    const apply = applyBase;
    services.layerCache.defer(run, () => apply(run.rootfs));
  }
  await runStageInstructions(stage, run, services, parsed.escapeToken);
  return run;
}

/** Warns about build args that no ARG of the built stages declared, as Docker does; proxy args are exempt. */
function warnUnusedBuildArgs(services: BuildServices, emit: (event: BuildEvent) => void): void {
  const unused = Object.keys(services.buildArgs).filter(
    (name) => !services.declaredArgs.has(name) && !PROXY_ARGS.includes(name),
  );
  if (unused.length === 0) return;
  emit({
    type: 'warning',
    message: `Build args not consumed by any ARG: ${unused.sort().join(', ')}`,
    file: undefined,
    line: undefined,
  });
}

/** Hosts that `registryMap` sends `registry` to; `docker.io` also matches `index.docker.io`. */
function registryMapFor(map: BuildOptions['registryMap'], registry: string): string[] {
  if (!map) return [];
  const aliases = registry === 'docker.io' ? ['docker.io', 'index.docker.io'] : [registry];
  return aliases.flatMap((alias) => map[alias] ?? []);
}

function emit(services: BuildServices, event: BuildEvent): void {
  services.emit(event);
}

function targetPlatform(option: BuildOptions['platform']): Platform {
  if (option === undefined) return hostPlatform();
  return typeof option === 'string' ? parsePlatformOption(option) : normalizePlatform(option);
}

function parsePlatformOption(text: string): Platform {
  try {
    return parsePlatform(text);
  } catch (error) {
    throw new EngineError('INVALID_OPTION', `Invalid platform "${text}"`, {
      hint: 'Write it as OS/ARCH[/VARIANT], for example linux/arm64/v8.',
      cause: error,
    });
  }
}
