import { definePlugin } from '@kiln/plugin-api';
import { includeHandler } from './include-handler.js';

/** The plugin: an `INCLUDE [--optional] PATH` instruction expanded before the build. */
export const includePlugin = definePlugin({
  name: '@kiln-examples/include',
  apiVersion: '^1.0.0',
  instructions: [includeHandler],
});

export default includePlugin;
export { expandInclude, includeHandler } from './include-handler.js';
export { parseIncludeLine, resolveIncludePath } from './include-path.js';
export type { IncludeRequest } from './include-path.js';
export { IncludeError } from './errors.js';
export type { IncludeErrorCode, IncludeErrorOptions } from './errors.js';
