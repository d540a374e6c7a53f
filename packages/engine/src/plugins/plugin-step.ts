import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { processWord } from '@kiln/dockerfile-parser';
import type { Instruction } from '@kiln/dockerfile-parser';
import { writeLayer } from '@kiln/layer-writer';
import type { ChangeSet } from '@kiln/layer-writer';
import type { ImageConfig } from '@kiln/oci-spec';
import type {
  AddedLayer,
  AddLayerOptions,
  BuildInstructionHandler,
  InstructionContext,
  PluginInstruction,
  StepInfo,
} from '@kiln/plugin-api';
import { EngineError, cancelledError } from '../errors.js';
import { envToMap, expansionEnvironment } from '../stage/environment.js';
import type { BuildServices, StageRun } from '../stage/stage-run.js';
import { fromExtension } from './expand-phase.js';
import { forwardPluginEvent } from './plugin-events.js';
import { pluginFailure } from './plugin-failure.js';
import type { PluginRuntime } from './plugin-runtime.js';
import type { Provided } from './plugin-set.js';

/**
 * Runs one step with a plugin's build handler, giving it the objects the built-in steps use.
 * A handler that adds no layer leaves an empty-layer history entry, as metadata steps do.
 */
export async function runPluginStep(
  provided: Provided<BuildInstructionHandler>,
  raw: Instruction,
  run: StageRun,
  services: BuildServices,
  runtime: PluginRuntime,
  step: StepInfo,
): Promise<{ digest: string; size: number } | undefined> {
  const { plugin, value: handler } = provided;
  const instruction: PluginInstruction = raw.kind === 'extension' ? fromExtension(raw) : raw;
  const where = `${raw.location.file ?? 'Dockerfile'}:${raw.location.startLine}`;
  const activity = `running ${raw.keyword} at ${where} (stage ${step.stageIndex}, step ${step.step})`;

  await mkdir(services.scratchDir, { recursive: true });
  const scratchDir = await mkdtemp(path.join(services.scratchDir, 'plugin-step-'));
  const added: AddedLayer[] = [];
  const imageConfig = liveImageConfig(run);
  const addStepLayer = async (
    changeSet: ChangeSet,
    options?: AddLayerOptions,
  ): Promise<AddedLayer> => {
    if (handler.effect === 'metadata') {
      throw new EngineError(
        'PLUGIN_FAILED',
        `Plugin ${plugin.name} added a layer from a metadata handler`,
        { hint: "Declare the handler with effect: 'filesystem' to add layers." },
      );
    }
    const layer = await addLayer(run, services, changeSet, options, raw.original, added.length);
    added.push(layer);
    return layer;
  };
  const context = stepContext(run, services, runtime, step, {
    imageConfig,
    scratchDir,
    plugin: plugin.name,
    addLayer: addStepLayer,
    where: {
      stage: step.stageIndex,
      step: step.step,
      file: raw.location.file,
      line: raw.location.startLine,
    },
  });

  let inputs: Record<string, string> = {};
  try {
    if (handler.cacheInputs) inputs = await handler.cacheInputs(instruction, context);
    await handler.run(instruction, context);
  } catch (error) {
    if (services.signal?.aborted) throw cancelledError(services.signal.reason);
    throw pluginFailure(plugin.name, activity, error);
  } finally {
    await rm(scratchDir, { recursive: true, force: true });
  }

  // A handler may replace `imageConfig.config` or set top-level fields, so the stage keeps what it left.
  run.image.containerConfig = imageConfig.config ?? {};
  run.meta.config = run.image.containerConfig;
  if (imageConfig.author !== undefined) run.image.author = imageConfig.author;
  if (handler.effect === 'filesystem') run.baselineCurrent = false;
  if (added.length === 0) run.image.addEmptyLayerHistory(raw.original);

  // NOTE: plugin steps always run, because the layer cache does not store their layers yet. Their
  // instruction and cache inputs still feed the key chain, so later steps miss when they change.
  services.layerCache?.advanceUncached(
    run,
    JSON.stringify([raw.original, plugin.name, inputs]),
    added.at(-1)?.diffId,
  );
  const last = added.at(-1);
  return last === undefined ? undefined : { digest: last.digest, size: last.size };
}

function stepContext(
  run: StageRun,
  services: BuildServices,
  runtime: PluginRuntime,
  step: StepInfo,
  parts: Pick<InstructionContext, 'imageConfig' | 'scratchDir' | 'addLayer'> & {
    plugin: string;
    where: { stage: number; step: number; file: string | undefined; line: number };
  },
): InstructionContext {
  const { plugin } = parts;
  const env = Object.fromEntries(envToMap(run.meta.config.Env ?? []));
  const args = Object.fromEntries(
    [...run.args].filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  const expansion = expansionEnvironment(run.meta.config.Env ?? [], run.args);
  return {
    step,
    platform: runtime.platform,
    imageConfig: parts.imageConfig,
    rootfs: run.rootfs,
    scratchDir: parts.scratchDir,
    args,
    env,
    expand: (word) => processWord(word, expansion, { escapeToken: runtime.escapeToken }).result,
    context: runtime.context,
    addLayer: parts.addLayer,
    executor: runtime.executor,
    cache: services.layerCache?.store,
    emit: (event) => forwardPluginEvent(services.emit, plugin, parts.where, event),
    logger: runtime.logger(plugin),
    signal: services.signal ?? new AbortController().signal,
  };
}

// The image config as handlers see it; `config` is the stage's live container config.
function liveImageConfig(run: StageRun): ImageConfig {
  const assembled = run.image.assemble().config;
  return { ...assembled, config: run.image.containerConfig };
}

async function addLayer(
  run: StageRun,
  services: BuildServices,
  changeSet: ChangeSet,
  options: AddLayerOptions | undefined,
  original: string,
  index: number,
): Promise<AddedLayer> {
  const layersDir = path.join(services.scratchDir, 'layers');
  await mkdir(layersDir, { recursive: true });
  const file = path.join(
    layersDir,
    `stage${run.index}-${run.image.layers.length}-plugin${index}.layer`,
  );
  const result = await writeLayer(changeSet, file, {
    compression: services.compression,
    ...(services.compressionLevel === undefined ? {} : { level: services.compressionLevel }),
    reproducible: services.reproducible,
  });
  await services.store.adopt(result.digest, file);
  run.image.addLayer(result, options?.createdBy ?? original);
  services.emit({
    type: 'layer-written',
    digest: result.digest,
    size: result.size,
    diffId: result.diffId,
    uncompressedSize: result.uncompressedSize,
  });
  return {
    mediaType: result.mediaType,
    digest: result.digest,
    size: result.size,
    diffId: result.diffId,
  };
}
