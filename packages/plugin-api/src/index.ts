export { API_VERSION, definePlugin } from './plugin.js';
export type { KilnPlugin } from './plugin.js';
export type {
  AddLayerOptions,
  AddedLayer,
  BuildInstructionHandler,
  CacheInputContext,
  CustomInstruction,
  ExpandContext,
  ExpandInstructionHandler,
  Expansion,
  InstructionContext,
  InstructionHandler,
  PluginInstruction,
  StepInfo,
} from './instruction.js';
export type {
  ExecutorFactory,
  ExecutorOptions,
  ExecutorProbe,
  RunExecutor,
  RunMountSpec,
  RunRequest,
  RunResult,
} from './executor.js';
export type { CacheStoreFactory, CacheStoreOptions } from './cache-store.js';
export type { ContextSourceFactory, OpenedContext } from './context-source.js';
export type {
  BuiltImage,
  OutputContext,
  OutputResult,
  OutputTarget,
  OutputTargetFactory,
} from './outputs.js';
export type { BuildContextReader, ContextFileInfo } from './build-context.js';
export type { LogFields, PluginEvent, PluginLogger } from './events.js';
