import type { LogFields, PluginEvent } from '@kiln/plugin-api';

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
