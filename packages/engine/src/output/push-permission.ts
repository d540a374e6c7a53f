import { parseReference } from '@kiln/oci-spec';
import type { RegistryClient } from '@kiln/registry-client';
import { EngineError } from '../errors.js';
import type { BuildOptions } from '../options.js';

/**
 * Checks that the client may push to the repository of every destination, once per repository,
 * before anything is built, so a wrong credential fails in seconds rather than after the build.
 * Nothing is checked with `noPush` or `checkPushPermission: false`.
 */
export async function checkPushPermissions(
  client: RegistryClient,
  options: BuildOptions,
): Promise<void> {
  if (options.noPush || options.checkPushPermission === false) return;
  const checked = new Set<string>();
  for (const destination of options.destinations ?? []) {
    const reference = parseReference(destination);
    const repository = reference.name();
    if (checked.has(repository)) continue;
    checked.add(repository);
    try {
      await client.checkPushPermission(reference);
    } catch (error) {
      const { hint, code } = error as { hint?: unknown; code?: unknown };
      // Only a 401 or 403 proves missing rights. Other failures, such as an unreachable host,
      // are reported as a failed check.
      const denied = code === 'UNAUTHORIZED' || code === 'DENIED';
      const prefix = denied ? 'No permission to push to' : 'Checking push access to';
      const failed = denied ? '' : ' failed';
      throw new EngineError(
        'PUSH_FAILED',
        `${prefix} ${repository}${failed}: ${(error as Error).message}`,
        {
          hint: `${typeof hint === 'string' ? `${hint} ` : ''}This check runs before the build; --skip-push-permission-check turns it off.`,
          cause: error,
        },
      );
    }
  }
}
