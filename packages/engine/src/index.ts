export { build } from './build.js';
export { pruneCacheDir, warmBaseImages } from './cache/warm.js';
export { EngineError, RunFailedError } from './errors.js';
export { openBuildContext } from './context/context-source.js';
export { buildChrootCommand } from './run/chroot-command.js';
export { checkSshSource, parseSshSpec } from './run/ssh-agent.js';
export { DEFAULT_PATH } from './image/image-builder.js';

export type { BuildOptions, BuildResult, OutputResult } from './options.js';
export type { BuildCacheSummary, LayerCacheOptions, StepCacheResult } from './cache/layer-cache.js';
export type { PruneCacheOptions, WarmOptions, WarmedImage } from './cache/warm.js';
export type { SecretSource } from './run/run-mounts.js';
export type { NoneIsolation } from './isolation/none-options.js';
export type { CheckedSshSource, SshSource } from './run/ssh-agent.js';
export type { OpenContextOptions, OpenedBuildContext } from './context/context-source.js';
export type { BuildEvent, BuildEventType } from './events.js';
export type { EngineErrorCode, EngineErrorOptions } from './errors.js';
export type { ChrootCommandOptions, SandboxMount, SpawnSpec } from './run/chroot-command.js';
