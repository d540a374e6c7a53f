import { Readable } from 'node:stream';
import { API_VERSION } from '@kiln/plugin-api';
import type { BuiltImage, KilnPlugin, OutputTarget, PluginLogger } from '@kiln/plugin-api';
import type { BuildEvent } from '../events.js';
import { EngineError } from '../errors.js';
import type { BlobStore } from '../image/blob-store.js';
import type { AssembledImage } from '../image/image-builder.js';
import type { OutputResult } from '../options.js';
import { forwardPluginEvent } from './plugin-events.js';
import { BUILTIN_OUTPUTS } from './builtin-outputs.js';
import { pluginFailure } from './plugin-failure.js';
import type { PluginSet } from './plugin-set.js';

// Stands for the engine in messages about its built-in outputs.
const KILN: KilnPlugin = { name: 'kiln', apiVersion: API_VERSION };

/** An output that `--output type=NAME,key=value` requests. */
export interface OutputRequest {
  type: string;
  options: Readonly<Record<string, string>>;
}

/** An output target created from a plugin, ready to write the finished image. */
export interface PreparedOutput {
  plugin: string;
  type: string;
  target: OutputTarget;
}

/**
 * Creates the targets of the requested outputs before the build starts, so that an unknown type
 * or a bad option fails before any work is done.
 */
export async function prepareOutputs(
  requests: readonly OutputRequest[],
  plugins: PluginSet,
): Promise<PreparedOutput[]> {
  const prepared: PreparedOutput[] = [];
  for (const request of requests) {
    const builtin = BUILTIN_OUTPUTS.get(request.type);
    const provided =
      builtin === undefined ? plugins.outputs.get(request.type) : { plugin: KILN, value: builtin };
    if (provided === undefined) {
      const known = [...plugins.outputs.keys()];
      throw new EngineError('INVALID_OPTION', `Unknown output type ${request.type}`, {
        hint:
          known.length === 0
            ? 'Load a plugin that provides it with --plugin.'
            : `Output types: ${[...BUILTIN_OUTPUTS.keys(), ...known].join(', ')}.`,
      });
    }
    try {
      const target = await provided.value.create(request.options);
      prepared.push({ plugin: provided.plugin.name, type: request.type, target });
    } catch (error) {
      throw pluginFailure(provided.plugin.name, `creating the output ${request.type}`, error);
    }
  }
  return prepared;
}

/** Writes the image to every prepared plugin output, in order. */
export async function writePluginOutputs(
  outputs: readonly PreparedOutput[],
  image: AssembledImage,
  store: BlobStore,
  services: {
    emit(event: BuildEvent): void;
    logger(plugin: string): PluginLogger;
    signal: AbortSignal;
  },
): Promise<OutputResult[]> {
  const built = builtImage(image, store);
  const results: OutputResult[] = [];
  for (const output of outputs) {
    try {
      const result = await output.target.write(built, {
        logger: services.logger(output.plugin),
        emit: (event) => forwardPluginEvent(services.emit, output.plugin, undefined, event),
        signal: services.signal,
      });
      results.push({
        kind: 'plugin',
        type: output.type,
        target: result.location,
        digest: result.digest ?? image.digest,
      });
    } catch (error) {
      throw pluginFailure(output.plugin, `writing the output ${output.type}`, error);
    }
  }
  return results;
}

function builtImage(image: AssembledImage, store: BlobStore): BuiltImage {
  const diffIds = image.config.rootfs.diff_ids;
  return {
    manifest: image.manifest,
    manifestBytes: image.manifestBytes,
    manifestDescriptor: {
      mediaType: image.mediaType,
      digest: image.digest,
      size: image.manifestBytes.byteLength,
    },
    config: image.config,
    configBytes: image.configBytes,
    layers: image.manifest.layers.map((descriptor, index) => ({
      descriptor,
      diffId: diffIds[index] as string,
    })),
    openBlob: async (digest) => {
      if (digest === image.configDescriptor.digest) return Readable.from([image.configBytes]);
      if (!(await store.has(digest))) {
        throw new EngineError('OUTPUT_FAILED', `Blob ${digest} is not part of the image`, {
          hint: 'Open only the config and layer digests of the image.',
        });
      }
      return store.open(digest);
    },
  };
}
