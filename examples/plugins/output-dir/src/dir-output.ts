import { randomUUID } from 'node:crypto';
import { chmod, lstat, mkdtemp, readdir, rename, rm, rmdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { PassThrough, pipeline } from 'node:stream';
import { applyLayer } from '@kiln/layer-writer';
import { createVerifyingStream, type Descriptor } from '@kiln/oci-spec';
import type { BuiltImage, OutputContext, OutputResult, OutputTarget } from '@kiln/plugin-api';
import { OutputDirError } from './errors.js';
import type { OutputDirOptions } from './options.js';

// Opens a layer blob for applyLayer, which takes a synchronous opener: the stream returned at once
// is fed when the image's opener resolves, and fails at its end unless digest and size match.
function verifiedOpener(image: BuiltImage, descriptor: Descriptor): () => NodeJS.ReadableStream {
  return () => {
    const output = new PassThrough();
    image.openBlob(descriptor.digest).then(
      (blob) => {
        const verifying = createVerifyingStream({
          digest: descriptor.digest,
          size: descriptor.size,
        });
        pipeline(blob, verifying, output, () => undefined);
      },
      (error: unknown) => output.destroy(error as Error),
    );
    return output;
  };
}

async function isEmptyDirectory(path: string): Promise<boolean | undefined> {
  const info = await lstat(path).catch(() => undefined);
  if (info === undefined) return undefined;
  return info.isDirectory() && (await readdir(path)).length === 0;
}

/**
 * An output target that writes the image's root filesystem, all layers applied in order with
 * their whiteouts, to a directory. Layers are extracted into a staging directory beside the
 * destination, which replaces the destination only when every layer applied and matched its diffID.
 */
export class DirectoryOutput implements OutputTarget {
  readonly options: OutputDirOptions;

  constructor(options: OutputDirOptions) {
    this.options = options;
  }

  async write(image: BuiltImage, context: OutputContext): Promise<OutputResult> {
    const { dest, overwrite } = this.options;
    const empty = await isEmptyDirectory(dest);
    if (empty === false && !overwrite) {
      throw new OutputDirError(
        'DESTINATION_NOT_EMPTY',
        `output directory ${dest} exists and is not empty`,
        {
          hint: 'Choose a new or empty directory, or add overwrite=true to replace it.',
        },
      );
    }

    const staging = await mkdtemp(join(dirname(dest), `.${basename(dest)}.kiln-`));
    try {
      // mkdtemp creates 0700; the root of an image's filesystem is 0755 unless a layer sets it.
      await chmod(staging, 0o755);
      await this.#applyLayers(image, staging, context);
      await this.#replace(staging, dest, empty);
    } catch (error) {
      await rm(staging, { recursive: true, force: true });
      throw error;
    }
    context.logger.info('wrote image root filesystem', { dest, layers: image.layers.length });
    return { location: dest, digest: image.manifestDescriptor.digest };
  }

  async #applyLayers(image: BuiltImage, staging: string, context: OutputContext): Promise<void> {
    const total = image.layers.length;
    for (const [index, layer] of image.layers.entries()) {
      if (context.signal.aborted) {
        throw new OutputDirError('ABORTED', `writing ${this.options.dest} was cancelled`, {
          hint: 'Run the build again to write the directory.',
          cause: context.signal.reason,
        });
      }
      const digest = layer.descriptor.digest;
      context.emit({
        type: 'progress',
        message: `extracting layer ${digest}`,
        current: index + 1,
        total,
        unit: 'layers',
      });

      let diffId: string;
      try {
        const applied = await applyLayer(verifiedOpener(image, layer.descriptor), staging, {
          ...(this.options.preserveOwnership === undefined
            ? {}
            : { preserveOwnership: this.options.preserveOwnership }),
        });
        diffId = applied.diffId;
      } catch (error) {
        throw new OutputDirError(
          'LAYER_FAILED',
          `extracting layer ${digest} failed: ${(error as Error).message}`,
          {
            hint: 'The layer blob is corrupt or cannot be written here; check the message and free space.',
            cause: error,
          },
        );
      }
      if (diffId !== layer.diffId) {
        throw new OutputDirError(
          'DIFF_ID_MISMATCH',
          `layer ${digest} has diffID ${diffId}, but the image says ${layer.diffId}`,
          {
            hint: 'The image config does not match its layers; build the image again.',
          },
        );
      }
    }
  }

  // Moves the staging directory into place. An earlier destination is renamed aside first and
  // removed after, so a failure leaves either the old or the new tree at `dest`.
  async #replace(staging: string, dest: string, empty: boolean | undefined): Promise<void> {
    if (empty === undefined) {
      await rename(staging, dest);
      return;
    }
    if (empty) {
      await rmdir(dest);
      await rename(staging, dest);
      return;
    }
    const aside = join(dirname(dest), `.${basename(dest)}.kiln-old-${randomUUID()}`);
    await rename(dest, aside);
    try {
      await rename(staging, dest);
    } catch (error) {
      await rename(aside, dest);
      throw error;
    }
    await rm(aside, { recursive: true, force: true });
  }
}
