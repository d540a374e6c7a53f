import type { LogFields, PluginEvent } from '@kiln/plugin-api';
import type { BuildEvent } from '../events.js';

/** Build events about plugins: loading, the events plugins emit, and their log lines. */
export type PluginBuildEvent =
  | { type: 'plugin-loaded'; plugin: string; source: string }
  | {
      type: 'plugin-event';
      plugin: string;
      /** Stage and step of the instruction the plugin ran for; undefined outside a step. */
      stage: number | undefined;
      step: number | undefined;
      event: PluginEvent;
    }
  | {
      type: 'plugin-log';
      plugin: string;
      level: 'debug' | 'info' | 'warn' | 'error';
      /** The line with known secret values replaced by `***`. */
      message: string;
      fields: LogFields | undefined;
    };

/**
 * Forwards an event a plugin emitted as the build events a renderer already shows: output lines
 * as `step-output` inside a step, warnings as `warning`, and everything as `plugin-event`.
 */
export function forwardPluginEvent(
  emit: (event: BuildEvent) => void,
  plugin: string,
  where: { stage: number; step: number; file: string | undefined; line: number } | undefined,
  event: PluginEvent,
): void {
  if (event.type === 'output' && where !== undefined) {
    emit({
      type: 'step-output',
      stage: where.stage,
      step: where.step,
      line: event.line,
      stream: event.stream,
    });
  }
  if (event.type === 'warning') {
    emit({
      type: 'warning',
      message: `${plugin}: ${event.message}`,
      file: where?.file,
      line: where?.line,
    });
  }
  emit({ type: 'plugin-event', plugin, stage: where?.stage, step: where?.step, event });
}
