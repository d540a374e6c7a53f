import path from 'node:path';
import { BaseImageCache, RegistryCacheStore, openCacheStore } from '@kiln/cache';
import type { CacheLookup, CacheMissExplanation, CacheStore } from '@kiln/cache';
import { parseReference, sha256Digest } from '@kiln/oci-spec';
import type { Platform } from '@kiln/oci-spec';
import type { RegistryClient } from '@kiln/registry-client';
import { EngineError } from '../errors.js';
import type { BuildEvent } from '../events.js';
import type { StageRun } from '../stage/stage-run.js';

/** Layer cache and base-image cache settings of a build, with kaniko's flag names. */
export interface LayerCacheOptions {
  /** Looks each file-system step up in the layer cache and stores the layers of misses (`--cache`). */
  enabled?: boolean;
  /**
   * Layer store (`--cache-repo`): a registry repository, `oci:PATH` or `dir:PATH`. Default
   * `<dir>/layers` when `dir` is set, else `<first destination's repository>/cache` as kaniko does.
   */
  repo?: string;
  /**
   * Local cache directory (`--cache-dir`), used even without `enabled`: base images in `<dir>/base`
   * and RUN --mount=type=cache contents in `<dir>/run-mounts`.
   */
  dir?: string;
  /** Entries older than this many milliseconds are misses (`--cache-ttl`); default 2 weeks. */
  ttlMs?: number;
  /** Caches RUN layers (`--cache-run-layers`); default true. */
  runLayers?: boolean;
  /** Caches COPY and ADD layers (`--cache-copy-layers`); default true, because their keys hash every source file. */
  copyLayers?: boolean;
}

/** Layer cache result of one file-system step; the build result lists one per step. */
export interface StepCacheResult {
  stage: number;
  step: number;
  instruction: string;
  /** `uncached`: the step's kind is not cached (see `runLayers`, `copyLayers`). */
  status: 'hit' | 'miss' | 'uncached';
  key?: string;
  /** For a hit: the store it came from and when the entry was written. */
  source?: { store: string; createdAt: string };
  /** For a miss: the nearest entry the store has for this step and the inputs that differ. */
  explanation?: CacheMissExplanation;
  /** For a miss caused by a damaged entry: what was wrong with it. */
  corrupt?: string;
  /** For a miss: true when the store had the entry but it was older than the time to live. */
  expired?: boolean;
}

/** Summary of the layer cache in the build result. */
export interface BuildCacheSummary {
  store: string;
  steps: StepCacheResult[];
  /** Entries whose background upload failed (registry stores); the build still succeeded. */
  failedWrites: Array<{ key: string; message: string }>;
}

const DEFAULT_TTL_MS = 14 * 24 * 3_600_000;

interface StageChain {
  key: string;
  platform: Platform;
}

/**
 * The layer cache of one build: the store, each stage's chain of keys, and the per-step results.
 * A step's parent key is the key of the step before it, so one miss does not stop later lookups:
 * a later step whose inputs and parent match what a previous build stored still hits.
 */
export class LayerCache {
  readonly results: StepCacheResult[] = [];
  readonly failedWrites: Array<{ key: string; message: string }> = [];
  readonly #chains = new WeakMap<StageRun, StageChain>();
  readonly #outcomes = new WeakMap<StageRun, StepCacheResult>();
  readonly #pending = new WeakMap<StageRun, Array<() => Promise<void>>>();

  constructor(
    readonly store: CacheStore,
    readonly options: LayerCacheOptions,
    private readonly emit: (event: BuildEvent) => void,
  ) {}

  /** Opens the layer store the options name, or returns undefined when `enabled` is not set. */
  static open(
    options: LayerCacheOptions | undefined,
    context: {
      client: RegistryClient;
      destinations: string[];
      spoolDir: string;
      emit: (event: BuildEvent) => void;
      /** A store a plugin opened for `repo`, used in place of the built-in ones. */
      pluginStore?: CacheStore | undefined;
    },
  ): LayerCache | undefined {
    if (!options?.enabled) return undefined;
    if (context.pluginStore) return new LayerCache(context.pluginStore, options, context.emit);
    const location = layerStoreLocation(options, context.destinations);
    let store: CacheStore;
    try {
      store = openCacheStore(location, {
        client: context.client,
        ttlMs: options.ttlMs ?? DEFAULT_TTL_MS,
        spoolDir: context.spoolDir,
        onEvent: (event) => {
          if (event.type !== 'cache-entry-pushed')
            context.emit({
              type: 'warning',
              message: event.error.message,
              file: undefined,
              line: undefined,
            });
        },
      });
    } catch (error) {
      throw new EngineError(
        'INVALID_OPTION',
        `Invalid cache repository "${location}": ${(error as Error).message}`,
        {
          hint:
            (error as { hint?: string }).hint ??
            'Pass --cache-repo REGISTRY/REPOSITORY, oci:PATH or dir:PATH.',
          cause: error,
        },
      );
    }
    return new LayerCache(store, options, context.emit);
  }

  /** Starts the key chain of a stage at its base: a manifest digest, an earlier stage's last key, or `scratch`. */
  startStage(run: StageRun, parentKey: string, platform: Platform): void {
    this.#chains.set(run, { key: parentKey, platform });
  }

  /** Returns the key of the last step of `run` (its base's before any step). */
  chainKey(run: StageRun): string {
    return this.#chain(run).key;
  }

  platformOf(run: StageRun): Platform {
    return this.#chain(run).platform;
  }

  /** Continues the chain after a step; for a step without a key, `key` is derived from what it produced. */
  advance(run: StageRun, key: string): void {
    this.#chain(run).key = key;
  }

  /** Advances past a step that was not looked up, with a key derived from the layer it produced. */
  advanceUncached(run: StageRun, instructionText: string, diffId: string | undefined): void {
    const chain = this.#chain(run);
    chain.key = sha256Digest(JSON.stringify([chain.key, instructionText, diffId ?? 'empty']));
  }

  /**
   * Queues a change to the stage's root filesystem (its base, or a hit's layer) until a step needs
   * the files, so that a build whose steps all hit never unpacks a root filesystem.
   */
  defer(run: StageRun, apply: () => Promise<void>): void {
    const pending = this.#pending.get(run) ?? [];
    pending.push(apply);
    this.#pending.set(run, pending);
  }

  isDeferred(run: StageRun): boolean {
    return (this.#pending.get(run)?.length ?? 0) > 0;
  }

  /** Applies the queued changes of `run` in order; the next RUN then takes a new snapshot baseline. */
  async materialize(run: StageRun): Promise<void> {
    const pending = this.#pending.get(run);
    if (pending === undefined) return;
    this.#pending.delete(run);
    for (const apply of pending) await apply();
    run.baselineCurrent = false;
  }

  covers(kind: 'run' | 'copy' | 'add' | 'workdir'): boolean {
    if (kind === 'run') return this.options.runLayers ?? true;
    if (kind === 'copy' || kind === 'add') return this.options.copyLayers ?? true;
    return true;
  }

  /** Looks a key up; a store failure is reported as a warning and read as a miss. */
  async lookup(key: string): Promise<CacheLookup> {
    try {
      return await this.store.get(key);
    } catch (error) {
      this.warn(`Layer cache lookup in ${this.store.name} failed: ${(error as Error).message}`);
      return { status: 'miss' };
    }
  }

  warn(message: string): void {
    this.emit({ type: 'warning', message, file: undefined, line: undefined });
  }

  /** Records the outcome of the current step of `run`, for the step-done event and the build result. */
  record(run: StageRun, result: StepCacheResult): void {
    this.results.push(result);
    this.#outcomes.set(run, result);
  }

  /** Returns and clears the outcome of the step `run` just ran; undefined when it had no cache step. */
  takeOutcome(run: StageRun): StepCacheResult | undefined {
    const outcome = this.#outcomes.get(run);
    this.#outcomes.delete(run);
    return outcome;
  }

  /** Repositories a push can mount cached layers from: the cache repository, for a registry store. */
  mountSources(): string[] {
    return this.store instanceof RegistryCacheStore ? [this.store.repository.name()] : [];
  }

  /** Waits for background writes; failures become warnings, since the image itself is complete. */
  async flush(): Promise<void> {
    const outcome = await this.store.flush?.().catch((error: unknown) => ({
      written: 0,
      failed: [{ key: '*', error: error as Error }],
    }));
    for (const failure of outcome?.failed ?? []) {
      this.failedWrites.push({ key: failure.key, message: failure.error.message });
    }
  }

  async close(): Promise<void> {
    await this.store.close?.();
  }

  summary(): BuildCacheSummary {
    return {
      store: this.store.name,
      steps: [...this.results],
      failedWrites: [...this.failedWrites],
    };
  }

  #chain(run: StageRun): StageChain {
    const chain = this.#chains.get(run);
    if (!chain)
      throw new EngineError('UNKNOWN_STAGE', `Stage ${run.index} has no cache key chain`, {
        hint: 'This is a bug in the cache wiring; please report it.',
      });
    return chain;
  }
}

/** Chooses the layer store: `repo`, else `<dir>/layers`, else the first destination's `/cache` repository. */
export function layerStoreLocation(options: LayerCacheOptions, destinations: string[]): string {
  if (options.repo) return options.repo;
  if (options.dir) return `dir:${path.join(path.resolve(options.dir), 'layers')}`;
  const first = destinations[0];
  if (first === undefined) {
    throw new EngineError(
      'INVALID_OPTION',
      'The layer cache has no store: no cache repository, cache directory or destination',
      {
        hint: 'Pass --cache-repo REGISTRY/REPOSITORY (or oci:PATH, dir:PATH) or --cache-dir DIR.',
      },
    );
  }
  return `${parseReference(first).name()}/cache`;
}

/**
 * Opens the base-image cache of a cache directory, `<dir>/base`, kept apart from the layer store so
 * its prune leaves base blobs alone. Tags are resolved on every build (a TTL of 0), because CI often
 * pushes a base and builds on it within minutes. A stored resolution is used only when the registry
 * cannot be reached, and then with a warning.
 */
export function openBaseImageCache(
  dir: string | undefined,
  emit: (event: BuildEvent) => void,
): BaseImageCache | undefined {
  if (dir === undefined) return undefined;
  return new BaseImageCache(path.join(path.resolve(dir), 'base'), {
    referenceTtlMs: 0,
    onEvent: (event) => {
      if (event.type === 'base-blob-damaged')
        emit({ type: 'warning', message: event.message, file: undefined, line: undefined });
      if (event.type === 'base-reference' && event.source === 'stale-cache')
        emit({
          type: 'warning',
          message: `The registry of ${event.reference} cannot be reached; using its stored resolution ${event.digest}, which may be out of date`,
          file: undefined,
          line: undefined,
        });
    },
  });
}
