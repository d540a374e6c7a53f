import type { SourceLocation } from '../errors.js';
import type { Node } from '../ast/node.js';

/** A command in shell form (run through the stage's SHELL) or exec form (a JSON array). */
export type CommandForm = { form: 'shell'; command: string } | { form: 'exec'; args: string[] };

/** A key/value pair of ENV or LABEL. */
export interface KeyValuePair {
  key: string;
  value: string;
}

/** One name of an ARG instruction, with its default when it has one. */
export interface ArgDeclaration {
  name: string;
  value?: string;
  /** Description from a comment line above, written `# NAME description`. */
  comment?: string;
}

/** A here-document body used by RUN or as a COPY/ADD source. */
export interface HeredocFile {
  /** The delimiter name; a COPY/ADD heredoc source is written under this file name. */
  name: string;
  /** The body, leading tabs already removed for `<<-`. */
  content: string;
  /** False when the delimiter was quoted, so the body is taken literally. */
  expand: boolean;
  chomp: boolean;
  fileDescriptor: number;
}

/** A parsed `RUN --mount=...` value. */
export interface RunMount {
  type: 'bind' | 'cache' | 'tmpfs' | 'secret' | 'ssh';
  target?: string;
  source?: string;
  from?: string;
  readonly: boolean;
  id?: string;
  sharing?: 'shared' | 'private' | 'locked';
  mode?: number;
  uid?: number;
  gid?: number;
  required?: boolean;
  /** Environment variable a secret is exposed as. */
  env?: string;
  /** tmpfs size in bytes. */
  size?: number;
  /** The flag value as written, before expansion. */
  spec: string;
}

interface InstructionBase {
  location: SourceLocation;
  /** The logical line as written, continuations joined. */
  original: string;
  /** The instruction keyword with its original casing. */
  keyword: string;
}

export interface FromInstruction extends InstructionBase {
  kind: 'from';
  image: string;
  platform?: string;
  stageName?: string;
  /** Description from a comment line above, written `# STAGENAME description`. */
  comment?: string;
}

export interface RunInstruction extends InstructionBase {
  kind: 'run';
  command: CommandForm;
  mounts: RunMount[];
  network?: 'default' | 'none' | 'host';
  security?: 'sandbox' | 'insecure';
  heredocs: HeredocFile[];
}

export interface CmdInstruction extends InstructionBase {
  kind: 'cmd';
  command: CommandForm;
}

export interface EntrypointInstruction extends InstructionBase {
  kind: 'entrypoint';
  command: CommandForm;
}

export interface ShellInstruction extends InstructionBase {
  kind: 'shell';
  shell: string[];
}

export interface EnvInstruction extends InstructionBase {
  kind: 'env';
  pairs: KeyValuePair[];
  /** True for the legacy `ENV key value` form. */
  legacyForm: boolean;
}

export interface LabelInstruction extends InstructionBase {
  kind: 'label';
  pairs: KeyValuePair[];
  legacyForm: boolean;
}

export interface ArgInstruction extends InstructionBase {
  kind: 'arg';
  args: ArgDeclaration[];
}

export interface ExposeInstruction extends InstructionBase {
  kind: 'expose';
  ports: string[];
}

interface FileCopyFields {
  /** Source paths (or URLs for ADD), heredoc sources excluded. */
  sources: string[];
  /** Heredoc bodies used as source files (`COPY <<EOF /dst`). */
  sourceContents: HeredocFile[];
  destination: string;
  chown?: string;
  chmod?: string;
  link: boolean;
  exclude: string[];
}

export interface CopyInstruction extends InstructionBase, FileCopyFields {
  kind: 'copy';
  from?: string;
  parents: boolean;
}

export interface AddInstruction extends InstructionBase, FileCopyFields {
  kind: 'add';
  checksum?: string;
  keepGitDir?: boolean;
  unpack?: boolean;
}

export interface VolumeInstruction extends InstructionBase {
  kind: 'volume';
  paths: string[];
}

export interface UserInstruction extends InstructionBase {
  kind: 'user';
  user: string;
}

export interface WorkdirInstruction extends InstructionBase {
  kind: 'workdir';
  path: string;
}

export interface OnbuildInstruction extends InstructionBase {
  kind: 'onbuild';
  /** The trigger as it goes into the image config's OnBuild list. */
  expression: string;
  trigger: Instruction;
}

export interface StopsignalInstruction extends InstructionBase {
  kind: 'stopsignal';
  signal: string;
}

/** HEALTHCHECK with Docker's config encoding: durations in nanoseconds, `test` as stored. */
export interface HealthcheckInstruction extends InstructionBase {
  kind: 'healthcheck';
  /** `['NONE']`, `['CMD', ...args]` (exec form) or `['CMD-SHELL', command]`. */
  test: string[];
  interval?: number;
  timeout?: number;
  startPeriod?: number;
  startInterval?: number;
  retries?: number;
}

export interface MaintainerInstruction extends InstructionBase {
  kind: 'maintainer';
  maintainer: string;
}

/**
 * An instruction outside Docker's set that a caller declared with `extensionKeywords`, such
 * as one a plugin serves. The parser checks nothing beyond the line syntax.
 */
export interface ExtensionInstruction extends InstructionBase {
  kind: 'extension';
  /** Lower-case keyword, such as `include`. */
  name: string;
  /** Arguments after the flags, split on whitespace, quotes kept. */
  args: string[];
  /** Flags such as `--from=x`, as written. */
  flags: string[];
  /** The parse tree node, for heredocs and the JSON form. */
  node: Node;
}

/** Every Dockerfile instruction, discriminated on `kind` (the lower-case keyword). */
export type Instruction =
  | FromInstruction
  | RunInstruction
  | CmdInstruction
  | EntrypointInstruction
  | ShellInstruction
  | EnvInstruction
  | LabelInstruction
  | ArgInstruction
  | ExposeInstruction
  | CopyInstruction
  | AddInstruction
  | VolumeInstruction
  | UserInstruction
  | WorkdirInstruction
  | OnbuildInstruction
  | StopsignalInstruction
  | HealthcheckInstruction
  | MaintainerInstruction
  | ExtensionInstruction;

export type InstructionKind = Instruction['kind'];

export const INSTRUCTION_KINDS: readonly InstructionKind[] = [
  'add',
  'arg',
  'cmd',
  'copy',
  'entrypoint',
  'env',
  'expose',
  'from',
  'healthcheck',
  'label',
  'maintainer',
  'onbuild',
  'run',
  'shell',
  'stopsignal',
  'user',
  'volume',
  'workdir',
];
