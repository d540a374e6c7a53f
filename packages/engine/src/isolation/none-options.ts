/**
 * Settings of `--isolation=none`, kaniko's mode for a dedicated container: each stage's root
 * filesystem is `/` itself, emptied before the stage, and RUN runs its command directly.
 */
export interface NoneIsolation {
  mode: 'none';
  /**
   * kiln's own directory, which is never emptied nor snapshotted; the work dir must be inside it.
   * Default: `workDir`, else `KILN_DIR`, else `/kiln`.
   */
  kilnDir?: string;
  /** Leave `/var/run` out of emptying and snapshots (kaniko's `--ignore-var-run`); default true. */
  ignoreVarRun?: boolean;
  /** Start even when no sign of a container is found (kaniko's `--force`). */
  force?: boolean;
  /** Empty `/` again after the build, also after a failure (kaniko's `--cleanup`). */
  cleanup?: boolean;
  /** The static kiln-setid program that RUN starts commands through; default `<kilnDir>/bin/kiln-setid`. */
  setidHelper?: string;
}
