import type { LogFields, PluginLogger } from '@kiln/plugin-api';
import type { BuildEvent } from '../events.js';

const REDACTED = '***';

/**
 * Creates the logger a plugin receives: each line becomes a `plugin-log` event with every known
 * secret value replaced by `***`, and warn and error lines also a `warning` event. Debug lines
 * are dropped unless `debug` is set.
 */
export function createPluginLogger(
  plugin: string,
  emit: (event: BuildEvent) => void,
  secrets: readonly string[],
  debug = false,
): PluginLogger {
  const redact = (text: string): string =>
    secrets.reduce((result, secret) => result.split(secret).join(REDACTED), text);
  const log =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (message: string, fields?: LogFields): void => {
      if (level === 'debug' && !debug) return;
      const text = redact(message);
      emit({
        type: 'plugin-log',
        plugin,
        level,
        message: text,
        fields: fields === undefined ? undefined : redactFields(fields, redact),
      });
      // Renderers show warnings, so a plugin's warn and error lines reach the user too.
      if (level === 'warn' || level === 'error') {
        emit({ type: 'warning', message: `${plugin}: ${text}`, file: undefined, line: undefined });
      }
    };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

// Fields go through JSON so that secrets nested in objects are replaced too.
function redactFields(fields: LogFields, redact: (text: string) => string): LogFields {
  try {
    return JSON.parse(redact(JSON.stringify(fields))) as LogFields;
  } catch {
    return { fields: REDACTED };
  }
}

/** Returns the secret values to redact: the environment-variable secrets that are set. */
export function knownSecretValues(
  secrets: Readonly<Record<string, { src: string } | { env: string }>>,
): string[] {
  // NOTE: file secrets (`src`) are not read here, so their contents are not redacted.
  return Object.values(secrets).flatMap((source) => {
    if (!('env' in source)) return [];
    const value = process.env[source.env];
    return value === undefined || value === '' ? [] : [value];
  });
}
