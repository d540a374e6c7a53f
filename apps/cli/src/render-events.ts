import type { BuildEvent } from '@kiln/engine';
import type { RegistryEvent } from '@kiln/registry-client';
import { formatBytes, formatCount, formatDuration } from './progress/format.js';

export type Verbosity = 'panic' | 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

export const VERBOSITY_LEVELS: Verbosity[] = [
  'panic',
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
];

/** Returns true when `level` shows messages of level `message` (info shows info, warn and error). */
export function verbosityAllows(level: Verbosity, message: Verbosity): boolean {
  return VERBOSITY_LEVELS.indexOf(level) >= VERBOSITY_LEVELS.indexOf(message);
}

/** Formats one engine event as a plain line, or returns undefined when the verbosity hides it. */
export function renderEvent(event: BuildEvent, verbosity: Verbosity): string | undefined {
  const info = verbosityAllows(verbosity, 'info');
  const debug = verbosityAllows(verbosity, 'debug');
  switch (event.type) {
    case 'build-start':
      return info
        ? `Building stage ${event.target} (${event.stages} stage${event.stages === 1 ? '' : 's'} to build)`
        : undefined;
    case 'warning': {
      if (!verbosityAllows(verbosity, 'warn')) return undefined;
      const where = event.line === undefined ? '' : `${event.file ?? 'Dockerfile'}:${event.line}: `;
      return `warning: ${where}${event.message}`;
    }
    case 'stage-start':
      return info ? `[stage ${event.name ?? event.stage}] FROM ${event.base}` : undefined;
    case 'base-resolved':
      return info
        ? `Resolved ${event.reference} to ${event.digest} (${event.layers} layer${event.layers === 1 ? '' : 's'})`
        : undefined;
    case 'blob-download':
      return debug
        ? `${event.cached ? 'Using cached' : 'Downloaded'} ${event.digest} (${formatBytes(event.size)})`
        : undefined;
    case 'step-start':
      return info ? `[${event.step}/${event.steps}] ${event.instruction}` : undefined;
    case 'step-output':
      return info ? `  ${event.line}` : undefined;
    case 'step-done': {
      if (!info) return undefined;
      const cache: string = event.cache;
      const how = cache === 'hit' ? 'cached' : `done in ${formatDuration(event.durationMs)}`;
      if (!event.layer) return `  ${how}`;
      const digest = debug ? ` ${event.layer.digest}` : '';
      return `  ${how}, layer${digest} (${formatBytes(event.layer.size)})`;
    }
    case 'layer-written':
      return debug
        ? `Wrote layer ${event.digest} (${formatBytes(event.size)}, diffID ${event.diffId})`
        : undefined;
    case 'image-assembled':
      return info
        ? `Image ${event.digest} (config ${event.configDigest}, ${formatCount(event.layers, 'layer')})`
        : undefined;
    case 'registry':
      return renderRegistryEvent(event.event, verbosity);
    case 'push-start':
      return info ? `Pushing ${event.destination}` : undefined;
    case 'push-done':
      return info ? `Pushed ${event.destination}@${event.digest}` : undefined;
    case 'output-written':
      return info ? `Wrote ${event.kind} ${event.path}` : undefined;
    case 'build-done':
      return debug ? `Build finished in ${formatDuration(event.durationMs)}` : undefined;
    case 'plugin-loaded':
      return info ? `Loaded plugin ${event.plugin} from ${event.source}` : undefined;
    case 'plugin-log':
      return verbosityAllows(verbosity, PLUGIN_LOG_LEVELS[event.level])
        ? `[plugin ${event.plugin}] ${event.level}: ${event.message}`
        : undefined;
    case 'plugin-event':
      // Output lines and warnings of plugins also arrive as step-output and warning events.
      return debug ? `[plugin ${event.plugin}] event ${event.event.type}` : undefined;
  }
}

/** The kiln verbosity at which each level of a plugin's log lines shows. */
const PLUGIN_LOG_LEVELS: Record<'debug' | 'info' | 'warn' | 'error', Verbosity> = {
  debug: 'debug',
  info: 'info',
  warn: 'warn',
  error: 'error',
};

/** Formats registry transfers at debug level, and retries and fallbacks (worth a warning) at warn level. */
function renderRegistryEvent(event: RegistryEvent, verbosity: Verbosity): string | undefined {
  const debug = verbosityAllows(verbosity, 'debug');
  const warn = verbosityAllows(verbosity, 'warn');
  switch (event.type) {
    case 'blob-pushed':
      return debug
        ? `Uploaded ${event.digest} to ${event.repository} (${formatBytes(event.size)})`
        : undefined;
    case 'blob-mounted':
      return debug
        ? `Mounted ${event.digest} into ${event.repository} from ${event.from}`
        : undefined;
    case 'blob-exists':
      return debug ? `Skipped ${event.digest}: ${event.repository} has it` : undefined;
    case 'retry':
      return warn
        ? `Retrying ${event.method} ${event.target} (attempt ${event.attempt}) in ${event.delayMs} ms: ${event.reason}`
        : undefined;
    case 'fallback':
      return warn ? `Falling back from ${event.from} to ${event.to}: ${event.reason}` : undefined;
    default:
      return undefined;
  }
}
