import type { PluginLogger } from './events.js';

/** A local directory standing for a remote or packed build context. */
export interface OpenedContext {
  directory: string;
  /** Removes what `open` created; called once after the build. */
  cleanup?(): Promise<void>;
}

export interface ContextSourceFactory {
  name: string;
  /** Returns true for locations this source serves, such as `s3://bucket/key.tar.gz`. */
  matches(location: string): boolean;
  open(
    location: string,
    context: { logger: PluginLogger; signal: AbortSignal },
  ): Promise<OpenedContext>;
}
