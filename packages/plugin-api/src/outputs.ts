import type { Readable } from 'node:stream';
import type { Descriptor, ImageConfig, ImageManifest } from '@kiln/oci-spec';
import type { PluginEvent, PluginLogger } from './events.js';

/** A finished image as outputs see it: documents in memory, blobs through openers. */
export interface BuiltImage {
  manifest: ImageManifest;
  manifestBytes: Uint8Array;
  manifestDescriptor: Descriptor;
  config: ImageConfig;
  configBytes: Uint8Array;
  /** Layers in order, each with its uncompressed digest. */
  layers: ReadonlyArray<{ descriptor: Descriptor; diffId: string }>;
  /** Opens a blob of the image (config or layer) by digest; each call returns a fresh stream. */
  openBlob(digest: string): Promise<Readable>;
}

export interface OutputContext {
  logger: PluginLogger;
  emit(event: PluginEvent): void;
  signal: AbortSignal;
}

/** Location of a written image, for the build result and the metadata file. */
export interface OutputResult {
  /** Human-readable location, such as a path or URL. */
  location: string;
  digest?: string;
}

export interface OutputTarget {
  write(image: BuiltImage, context: OutputContext): Promise<OutputResult>;
}

export interface OutputTargetFactory {
  /** Type selected with `--output type=NAME,key=value,...`. */
  type: string;
  create(options: Readonly<Record<string, string>>): OutputTarget | Promise<OutputTarget>;
}
