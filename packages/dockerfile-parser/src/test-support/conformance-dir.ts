import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

// The BuildKit test data is kept outside the repository, in `shared/conformance` beside the
// checkout. A clone made elsewhere can point at it with KILN_CONFORMANCE_DIR.
const CANDIDATES = [
  process.env.KILN_CONFORMANCE_DIR,
  join(REPO_ROOT, '../shared/conformance'),
  '/work/shared/conformance',
].filter((dir): dir is string => Boolean(dir));

/** Finds the conformance data folder, or throws an error that names every place it tried. */
export function conformanceDir(): string {
  const found = CANDIDATES.find((dir) => existsSync(dir));
  if (found === undefined) {
    throw new Error(
      `conformance data not found; tried ${CANDIDATES.join(', ')}: set KILN_CONFORMANCE_DIR to the folder that contains buildkit-parser and buildkit-shell`,
    );
  }
  return found;
}
