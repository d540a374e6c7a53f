/** Exit codes of the kiln command. */
export const ExitCode = { Success: 0, BuildError: 1, UsageError: 2, Interrupted: 130 } as const;

// Engine codes for a command-line value that names nothing: --context or --context-sub-path
// (CONTEXT_NOT_FOUND), --dockerfile or the default <context>/Dockerfile (DOCKERFILE_NOT_FOUND),
// and an --ssh socket or key file that is missing or of the wrong type (SSH_SOURCE_INVALID).
const USAGE_CODES = new Set(['CONTEXT_NOT_FOUND', 'DOCKERFILE_NOT_FOUND', 'SSH_SOURCE_INVALID']);

/**
 * Returns the exit code of a failed build. A context, Dockerfile, --target or --ssh source that
 * does not exist is a usage error (2), because the fix is in the command line. kaniko exits 1 for every error.
 * A cancelled build exits 130, and every other failure 1.
 */
export function buildExitCode(error: unknown): number {
  const { code, name } = (error ?? {}) as { code?: unknown; name?: unknown };
  if (code === 'BUILD_CANCELLED') return ExitCode.Interrupted;
  if (typeof code === 'string' && USAGE_CODES.has(code)) return ExitCode.UsageError;
  if (name === 'DockerfileParseError' && code === 'UNKNOWN_TARGET') return ExitCode.UsageError;
  return ExitCode.BuildError;
}
