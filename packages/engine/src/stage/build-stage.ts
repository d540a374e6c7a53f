import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PROXY_ARGS, expandInstruction, parseDockerfile } from '@kiln/dockerfile-parser';
import type { ArgInstruction, Instruction, Stage } from '@kiln/dockerfile-parser';
import { createSnapshotter } from '@kiln/fs-snapshot';
import type { ChangeDetection } from '@kiln/fs-snapshot';
import { writeLayer } from '@kiln/layer-writer';
import type { ChangeSet } from '@kiln/layer-writer';
import { runCachedStep } from '../cache/cached-step.js';
import { executeCopy } from '../copy/copy-instruction.js';
import { buildHandlerFor } from '../plugins/plugin-runtime.js';
import { runPluginStep } from '../plugins/plugin-step.js';
import { EngineError, cancelledError } from '../errors.js';
import type { ImageBuilder } from '../image/image-builder.js';
import { executeRun } from '../run/run-instruction.js';
import { expansionEnvironment } from './environment.js';
import { argCreatedBy, copyCreatedBy, runCreatedBy } from './history.js';
import { DEFAULT_SHELL, applyMetadataInstruction } from './metadata-instructions.js';
import type { BuildServices, StageRun } from './stage-run.js';
import { DeferredSnapshotter, withoutPlaceholderDirs } from './single-snapshot.js';
import { fixReproducibleTimes } from './reproducible-times.js';
import { executeWorkdir } from './workdir-instruction.js';

/**
 * Creates the run state of a stage whose root filesystem and image builder hold the base already.
 * Steps work in the snapshotter's view of `root` (an overlay mount, or `root` itself for the walk
 * snapshotter); the caller releases `run.snapshotter` when the build ends, also on failure.
 * Proxy build args (HTTP_PROXY and friends) reach RUN without an ARG, as Docker predefines them.
 */
export async function createStageRun(
  stage: Stage,
  root: string,
  image: ImageBuilder,
  options: StageRunOptions,
): Promise<StageRun> {
  const buildArgs = options.buildArgs ?? {};
  const stageSnapshotter = await createSnapshotter(root, {
    workDir: options.snapshotDir,
    ignorePaths: options.ignorePaths ?? [],
    ...(options.snapshotMode ? { mode: options.snapshotMode } : {}),
    ...(options.changeDetection ? { changeDetection: options.changeDetection } : {}),
    ...(options.onFallback ? { onEvent: (event) => options.onFallback?.(event.reason) } : {}),
  });
  await stageSnapshotter.init();
  const snapshotter = options.singleSnapshot
    ? new DeferredSnapshotter(stageSnapshotter)
    : stageSnapshotter;
  return {
    index: stage.index,
    name: stage.name,
    rootfs: snapshotter.rootfs,
    image,
    meta: {
      config: image.containerConfig,
      shell: image.containerConfig.Shell ? [...image.containerConfig.Shell] : [...DEFAULT_SHELL],
      cmdSetInStage: false,
      author: undefined,
    },
    args: new Map(
      PROXY_ARGS.flatMap((name) =>
        buildArgs[name] === undefined ? [] : [[name, buildArgs[name]] as [string, string]],
      ),
    ),
    snapshotter,
    ...(options.singleSnapshot ? { stageSnapshotter } : {}),
    baselineCurrent: true,
  };
}

/** Options of {@link createStageRun}. */
export interface StageRunOptions {
  /** Directory for overlay mounts; it must not be on overlayfs. */
  snapshotDir: string;
  buildArgs?: Readonly<Record<string, string>>;
  ignorePaths?: string[];
  /** 'auto' (default) uses overlay where it mounts, else walk. */
  snapshotMode?: 'auto' | 'overlay' | 'walk';
  /** Receives the reason once when overlay is unavailable and the walk snapshotter is used. */
  onFallback?: (reason: string) => void;
  /** How the walk snapshotter decides a file changed; default 'full'. */
  changeDetection?: ChangeDetection;
  /** One layer for the whole stage, taken after its last instruction (kaniko's `--single-snapshot`). */
  singleSnapshot?: boolean;
}

/**
 * Runs every instruction of the stage in order, adding a layer or an empty-layer history entry for
 * each. With a stage snapshotter (`--single-snapshot`) the steps add empty-layer entries and the
 * last step's entry carries the one layer of everything the stage changed.
 */
export async function runStageInstructions(
  stage: Stage,
  run: StageRun,
  services: BuildServices,
  escapeToken: string,
): Promise<void> {
  // ONBUILD triggers of the base run right after FROM, and the new image does not pass them on.
  const triggers = parseOnbuildTriggers(run.meta.config.OnBuild ?? []);
  delete run.meta.config.OnBuild;
  const instructions = [...triggers, ...stage.instructions];
  const steps = instructions.length;
  for (const [offset, raw] of instructions.entries()) {
    const step = offset + 1;
    const started = Date.now();
    const historyBefore = run.image.history.length;
    if (services.signal?.aborted) throw cancelledError(services.signal.reason);
    services.emit({
      type: 'step-start',
      stage: stage.index,
      step,
      steps,
      instruction: raw.original,
      line: raw.location.startLine,
    });

    const instruction = expandInstruction(
      raw,
      expansionEnvironment(run.meta.config.Env ?? [], run.args),
      { escapeToken },
    );
    const pluginHandler = buildHandlerFor(services.plugins, instruction);
    // A plugin step may read the root filesystem, so a cache's deferred changes are applied first.
    if (pluginHandler) await services.layerCache?.materialize(run);
    const layer =
      pluginHandler && services.plugins
        ? await runPluginStep(pluginHandler, instruction, run, services, services.plugins, {
            stageIndex: stage.index,
            ...(stage.name === undefined ? {} : { stageName: stage.name }),
            step,
            steps,
          })
        : await runInstruction(run, instruction, services, step);
    const cached = services.layerCache?.takeOutcome(run);
    const stageLayer =
      step === steps && run.stageSnapshotter
        ? await commitStageSnapshot(run, raw, historyBefore, services)
        : undefined;
    services.emit({
      type: 'step-done',
      stage: stage.index,
      step,
      cache: cached === undefined || cached.status === 'uncached' ? 'none' : cached.status,
      ...(cached?.explanation ? { explanation: cached.explanation } : {}),
      durationMs: Date.now() - started,
      layer: layer ?? stageLayer,
    });
  }
}

async function runInstruction(
  run: StageRun,
  instruction: Instruction,
  services: BuildServices,
  step: number,
): Promise<{ digest: string; size: number } | undefined> {
  switch (instruction.kind) {
    case 'arg':
      declareArgs(run, instruction, services);
      run.image.addEmptyLayerHistory(
        argCreatedBy(
          run,
          instruction.args.map((arg) => arg.name),
        ),
      );
      return undefined;
    case 'copy':
    case 'add': {
      const createdBy = copyCreatedBy(instruction);
      return runCachedStep(run, instruction, services, step, {
        createdBy: () => createdBy,
        execute: async () => {
          const changes = await executeCopy(run, instruction, services);
          if (services.reproducible) await fixReproducibleTimes(changes);
          return commitChanges(run, changes, createdBy, services);
        },
      });
    }
    case 'workdir':
      return runCachedStep(run, instruction, services, step, {
        createdBy: () => `WORKDIR ${run.meta.config.WorkingDir}`,
        execute: async () => {
          const changes = await executeWorkdir(run, instruction);
          if (services.reproducible) await fixReproducibleTimes(changes);
          return commitChanges(run, changes, `WORKDIR ${run.meta.config.WorkingDir}`, services);
        },
      });
    case 'run': {
      const createdBy = runCreatedBy(run, instruction);
      return runCachedStep(run, instruction, services, step, {
        createdBy: () => createdBy,
        execute: async () =>
          commitChanges(
            run,
            await executeRun(run, instruction, services, step),
            createdBy,
            services,
          ),
      });
    }
    case 'from':
      throw new EngineError('UNSUPPORTED_INSTRUCTION', 'FROM inside a stage is not expected here', {
        hint: 'This is a bug in the stage split; please report it with the Dockerfile.',
      });
    default: {
      const createdBy = applyMetadataInstruction(run.meta, instruction);
      if (run.meta.author !== undefined) run.image.author = run.meta.author;
      if (createdBy !== null) run.image.addEmptyLayerHistory(createdBy ?? instruction.original);
      return undefined;
    }
  }
}

/**
 * Writes everything the stage changed as one layer (`--single-snapshot`) and gives it the history
 * entry of the last step, which that step added as an empty layer. Returns undefined when the stage
 * changed nothing.
 */
async function commitStageSnapshot(
  run: StageRun,
  last: Instruction,
  historyBefore: number,
  services: BuildServices,
): Promise<{ digest: string; size: number } | undefined> {
  // NOTE: layers that plugin handlers add themselves stay separate layers under --single-snapshot.
  const stageSnapshotter = run.stageSnapshotter as NonNullable<StageRun['stageSnapshotter']>;
  const changes = withoutPlaceholderDirs(await stageSnapshotter.changes(), run.placeholderDirs);
  if (changes.entries.length === 0) return undefined;
  const lastEntry = run.image.history.length > historyBefore ? run.image.history.pop() : undefined;
  return writeChangesLayer(run, changes, lastEntry?.created_by ?? last.original, services);
}

/** Parses the ONBUILD expressions of a base image config into instructions. */
export function parseOnbuildTriggers(expressions: readonly string[]): Instruction[] {
  return expressions.map((expression) => {
    const parsed = parseDockerfile(`FROM scratch\n${expression}\n`, { fileName: 'ONBUILD' });
    const instruction = parsed.stages[0]?.instructions[0];
    if (!instruction || instruction.kind === 'from' || instruction.kind === 'onbuild') {
      throw new EngineError(
        'UNSUPPORTED_INSTRUCTION',
        `Invalid ONBUILD trigger in the base image: ${expression}`,
        {
          hint: 'Rebuild the base image without this ONBUILD trigger.',
        },
      );
    }
    return { ...instruction, original: `ONBUILD ${expression}` };
  });
}

/** Records ARG declarations: a build arg wins, then the declared default, then a global or platform arg. */
function declareArgs(run: StageRun, instruction: ArgInstruction, services: BuildServices): void {
  for (const { name, value } of instruction.args) {
    services.declaredArgs.add(name);
    run.args.set(name, services.buildArgs[name] ?? value ?? services.argDefaults[name]);
  }
}

/**
 * Writes a change set as a compressed layer into the blob store and adds it to the image; no
 * entries adds no layer. Under `--single-snapshot` a step's changes add only an empty-layer
 * entry, because the stage snapshot after the last step contains them.
 */
async function commitChanges(
  run: StageRun,
  changes: ChangeSet,
  createdBy: string,
  services: BuildServices,
): Promise<{ digest: string; size: number } | undefined> {
  if (changes.entries.length === 0 || run.stageSnapshotter) {
    run.image.addEmptyLayerHistory(createdBy);
    return undefined;
  }
  return writeChangesLayer(run, changes, createdBy, services);
}

/** Writes a non-empty change set as a layer, adds it to the image and reports it. */
async function writeChangesLayer(
  run: StageRun,
  changes: ChangeSet,
  createdBy: string,
  services: BuildServices,
): Promise<{ digest: string; size: number }> {
  const layersDir = path.join(services.scratchDir, 'layers');
  await mkdir(layersDir, { recursive: true });
  const file = path.join(layersDir, `stage${run.index}-${run.image.layers.length}.layer`);
  const result = await writeLayer(changes, file, {
    compression: services.compression,
    ...(services.compressionLevel === undefined ? {} : { level: services.compressionLevel }),
    reproducible: services.reproducible,
  });
  await services.store.adopt(result.digest, file);
  run.image.addLayer(result, createdBy);
  services.emit({
    type: 'layer-written',
    digest: result.digest,
    size: result.size,
    diffId: result.diffId,
    uncompressedSize: result.uncompressedSize,
  });
  return { digest: result.digest, size: result.size };
}
