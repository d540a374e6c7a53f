/** Progress events a plugin emits; the engine adds the stage, step and plugin name and forwards them. */
export type PluginEvent =
  | { type: 'output'; stream: 'stdout' | 'stderr'; line: string }
  | { type: 'progress'; message: string; current?: number; total?: number; unit?: string }
  | { type: 'warning'; message: string };

/** Fields attached to a log line; values are rendered as JSON. */
export type LogFields = Record<string, unknown>;

/**
 * Logger given to plugins. The engine's implementation replaces the values of build secrets and
 * registry credentials with `***` before anything is written, and discards debug lines by default.
 */
export interface PluginLogger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}
