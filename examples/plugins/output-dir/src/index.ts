import { definePlugin, type OutputTargetFactory } from '@kiln/plugin-api';
import { DirectoryOutput } from './dir-output.js';
import { parseOutputDirOptions } from './options.js';

const dirOutput: OutputTargetFactory = {
  type: 'dir',
  create: (options) => new DirectoryOutput(parseOutputDirOptions(options)),
};

/** The plugin: `--output type=dir,dest=PATH` writes the image's root filesystem to PATH. */
export const outputDirPlugin = definePlugin({
  name: '@kiln-examples/output-dir',
  apiVersion: '^1.0.0',
  outputs: [dirOutput],
});

export default outputDirPlugin;
export { DirectoryOutput } from './dir-output.js';
export { parseOutputDirOptions } from './options.js';
export type { OutputDirOptions } from './options.js';
export { OutputDirError } from './errors.js';
export type { OutputDirErrorCode } from './errors.js';
