import type { CacheStore } from '@kiln/cache';
import type { Instruction, Node, SourceLocation } from '@kiln/dockerfile-parser';
import type { ChangeSet } from '@kiln/layer-writer';
import type { ImageConfig, Platform } from '@kiln/oci-spec';
import type { BuildContextReader } from './build-context.js';
import type { PluginEvent, PluginLogger } from './events.js';
import type { RunExecutor } from './executor.js';

/** An instruction the built-in parser does not type, as it reaches a plugin handler. */
export interface CustomInstruction {
  /** Lower-case keyword, such as `include`. */
  kind: string;
  /** Keyword with its original casing. */
  keyword: string;
  /** The logical line as written, continuations joined. */
  original: string;
  /**
   * Arguments after the flags, split on whitespace, before variable expansion and with quotes
   * kept. Parse `original` where quoting matters, because a quoted argument may contain spaces.
   */
  args: string[];
  /** Flags such as `--from=x`, as written. */
  flags: string[];
  /** The parse tree node, for heredocs and the JSON form. */
  node: Node;
  location: SourceLocation;
}

/** Instruction a handler receives: a typed built-in instruction it replaces, or a custom one. */
export type PluginInstruction = Instruction | CustomInstruction;

/** A layer added to the image by `addLayer`. */
export interface AddedLayer {
  mediaType: string;
  digest: string;
  size: number;
  diffId: string;
}

export interface AddLayerOptions {
  /** Text for the history entry's `created_by`; defaults to the instruction. */
  createdBy?: string;
  comment?: string;
}

/** Identifies the step a handler runs for, in messages and events. */
export interface StepInfo {
  stageIndex: number;
  stageName?: string;
  /** 1-based position of the step in the stage, and the stage's step count. */
  step: number;
  steps: number;
}

/**
 * Objects a build-phase handler works with; the built-in handlers receive the same ones.
 * Handlers change the image by editing `imageConfig` and by calling `addLayer`.
 */
export interface InstructionContext {
  step: StepInfo;
  platform: Platform;
  /** The stage's image config; changes to it (for example `config.Env`) are kept for later steps. */
  imageConfig: ImageConfig;
  /** The stage's root filesystem, to read or change in place. */
  rootfs: string;
  /** An empty directory for this step's temporary files, removed after the step. */
  scratchDir: string;
  /** Build args visible to this step, after defaults and `--build-arg` values. */
  args: Readonly<Record<string, string>>;
  /** The stage's environment (`Env` of the image config as a map). */
  env: Readonly<Record<string, string>>;
  /** Expands `$VAR` and `${VAR:-default}` with `args` and `env`, as Docker does for COPY paths. */
  expand(word: string): string;
  context: BuildContextReader;
  /** Writes a layer from a change set and appends it and a history entry to the image. */
  addLayer(changeSet: ChangeSet, options?: AddLayerOptions): Promise<AddedLayer>;
  /** Runs commands inside `rootfs` the way RUN does. */
  executor: RunExecutor;
  /** The build's layer cache, or undefined when caching is off. */
  cache: CacheStore | undefined;
  emit(event: PluginEvent): void;
  logger: PluginLogger;
  signal: AbortSignal;
}

/** Part of the context available while a handler declares its cache inputs: no filesystem, no side effects. */
export type CacheInputContext = Pick<
  InstructionContext,
  'step' | 'platform' | 'imageConfig' | 'args' | 'env' | 'expand' | 'context'
>;

/**
 * A handler that runs during the build, for a new instruction or in place of a built-in.
 * The step's cache key covers the expanded instruction, args, env and platform, plus what
 * `cacheInputs` returns. A handler whose output depends on anything else must return it there.
 */
export interface BuildInstructionHandler<I extends PluginInstruction = PluginInstruction> {
  phase: 'build';
  /** Lower-case keyword the handler serves. */
  keyword: string;
  /** True to replace the built-in handler of the same keyword; required for built-in keywords. */
  replaces?: boolean;
  /** 'metadata' handlers only edit the image config, add no layer and skip the layer cache. */
  effect: 'filesystem' | 'metadata';
  cacheInputs?(
    instruction: I,
    context: CacheInputContext,
  ): Record<string, string> | Promise<Record<string, string>>;
  run(instruction: I, context: InstructionContext): Promise<void>;
}

/** Dockerfile text that replaces an instruction, parsed in its place. */
export interface Expansion {
  /** Instructions and comments; text with no instruction removes the expanded line. */
  text: string;
  /** File name used in source locations of errors and warnings inside `text`. */
  file: string;
}

export interface ExpandContext {
  context: BuildContextReader;
  /**
   * Files being expanded, outermost first, so that a handler can detect cycles. The last entry is
   * the file that contains the instruction.
   */
  fileStack: readonly string[];
  args: Readonly<Record<string, string>>;
  logger: PluginLogger;
  signal: AbortSignal;
}

/**
 * A handler that runs before the build and replaces its instruction with other instructions
 * (such as `INCLUDE file`). The result is parsed again, so expansions may nest.
 */
export interface ExpandInstructionHandler {
  phase: 'expand';
  keyword: string;
  expand(instruction: CustomInstruction, context: ExpandContext): Promise<Expansion>;
}

export type InstructionHandler = BuildInstructionHandler | ExpandInstructionHandler;
