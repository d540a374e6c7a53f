import { EngineError } from '../errors.js';

/**
 * Wraps an error a plugin threw into PLUGIN_FAILED, naming the plugin and what it was doing.
 * Engine errors (a cancelled build, a failed RUN inside the handler) pass through unchanged.
 */
export function pluginFailure(plugin: string, activity: string, error: unknown): EngineError {
  if (error instanceof EngineError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  const pluginHint =
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { hint?: unknown }).hint === 'string'
      ? (error as { hint: string }).hint
      : undefined;
  return new EngineError('PLUGIN_FAILED', `Plugin ${plugin} failed while ${activity}: ${reason}`, {
    hint:
      pluginHint ??
      `This is an error in the plugin ${plugin}; check its documentation or report it to its authors.`,
    cause: error,
  });
}
