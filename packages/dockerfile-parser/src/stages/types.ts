import type { Directive } from '../ast/directives.js';
import type { Node } from '../ast/node.js';
import type { SourceLocation } from '../errors.js';
import type { ArgInstruction, FromInstruction, Instruction } from '../instructions/types.js';
import type { LintWarning } from '../lint/types.js';
import type { PlatformSpec } from './platform-args.js';

export interface ParseOptions {
  /** `--build-arg` values; they override ARG defaults (in the global scope and in stages). */
  buildArgs?: Readonly<Record<string, string>>;
  /** Name (or index) of the stage to build; the last stage when omitted. */
  target?: string;
  /** Target platform, for TARGETPLATFORM and friends; Linux on the host CPU by default. */
  platform?: PlatformSpec;
  /** Build platform, for BUILDPLATFORM and friends; `platform` by default. */
  buildPlatform?: PlatformSpec;
  /** File name used in error messages and locations; `Dockerfile` by default. */
  fileName?: string;
  /**
   * The config `Env` (`KEY=value` strings) of base images, keyed by the image as FROM names
   * it after expansion. UndefinedVar is checked only in stages whose base environment is
   * known: scratch, an earlier stage, or an image listed here.
   */
  baseImageEnv?: Readonly<Record<string, readonly string[]>>;
}

/** A stage's base: an image reference, `scratch`, or an earlier stage. */
export interface StageBase {
  /** The FROM image after expansion with the global ARGs. */
  image: string;
  /** The --platform value after expansion, when given. */
  platform?: string;
  /** Index of the stage this one builds on, when the image names an earlier stage. */
  stageRef?: number;
  /** True for `FROM scratch`. */
  scratch: boolean;
}

export interface Stage {
  index: number;
  /** The `AS` name, lower-cased as Docker compares stage names. */
  name?: string;
  from: StageBase;
  /** The FROM instruction as written. */
  fromInstruction: FromInstruction;
  /** The stage's instructions after FROM, raw (see `expandInstruction`). */
  instructions: Instruction[];
  /** Indexes of the stages this one needs (FROM, COPY --from, RUN --mount from=), sorted. */
  dependsOn: number[];
  /** External images named by COPY --from or RUN --mount from= (not stages). */
  imageDependencies: string[];
  location: SourceLocation;
}

export interface ParsedDockerfile {
  directives: Directive[];
  escapeToken: string;
  /** ARG instructions before the first FROM. */
  metaArgs: ArgInstruction[];
  /** The global ARG values after defaults, build args and expansion (undefined: no value). */
  metaArgValues: Record<string, string | undefined>;
  /** The predefined platform args (TARGETPLATFORM, BUILDARCH, ...) for this build. */
  platformArgs: Record<string, string>;
  stages: Stage[];
  target: Stage;
  /** Stage indexes the target needs, dependencies first, the target last. */
  buildOrder: number[];
  warnings: LintWarning[];
  /**
   * True when the file has `# check=error=true`, so lint warnings should fail the build. The
   * caller decides, because `parseDockerfile` returns warnings and never throws for them.
   */
  warningsAreErrors: boolean;
  /** The low-level tree, for dumping. */
  ast: Node;
}
