import path from 'node:path';
import type { BuiltImage, OutputTargetFactory } from '@kiln/plugin-api';
import { EngineError } from '../errors.js';
import type { AssembledImage } from '../image/image-builder.js';
import { writeOciLayout } from '../output/oci-layout.js';

/**
 * `--output type=oci,dest=DIR[,name=TAG]`: the OCI image layout output written against the
 * plugin API, so it sees the image only as a plugin output does.
 */
export const ociLayoutOutput: OutputTargetFactory = {
  type: 'oci',
  create(options) {
    const { dest, name = 'latest', ...unknown } = options;
    const extra = Object.keys(unknown);
    if (extra.length > 0) {
      throw new EngineError(
        'INVALID_OPTION',
        `Unknown option ${extra.join(', ')} of --output type=oci`,
        {
          hint: 'The oci output takes dest=DIR and name=TAG.',
        },
      );
    }
    if (dest === undefined || dest === '') {
      throw new EngineError('INVALID_OPTION', 'Missing dest in --output type=oci', {
        hint: 'Pass the layout directory: --output type=oci,dest=DIR.',
      });
    }
    return {
      async write(image) {
        const dir = path.resolve(dest);
        await writeOciLayout(dir, assembledImage(image), { openBlob: image.openBlob }, name);
        return { location: dir, digest: image.manifestDescriptor.digest };
      },
    };
  },
};

/** Output types built into the engine, served by the same contract as plugin outputs. */
export const BUILTIN_OUTPUTS: ReadonlyMap<string, OutputTargetFactory> = new Map([
  [ociLayoutOutput.type, ociLayoutOutput],
]);

function assembledImage(image: BuiltImage): AssembledImage {
  return {
    config: image.config,
    configBytes: image.configBytes,
    configDescriptor: image.manifest.config,
    manifest: image.manifest,
    manifestBytes: image.manifestBytes,
    digest: image.manifestDescriptor.digest,
    mediaType: image.manifestDescriptor.mediaType,
  };
}
