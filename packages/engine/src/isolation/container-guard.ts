import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { EngineError } from '../errors.js';

/** Locations that {@link detectContainer} reads; tests point them at fake trees. */
export interface ContainerProbePaths {
  /** Root directory to look for `/.dockerenv` and `/run/.containerenv` in; default `/`. */
  root?: string;
  /** Mount point of procfs, for `1/cgroup`; default `/proc`. */
  proc?: string;
  /** Environment of the process; default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Path parts in `/proc/1/cgroup` that container runtimes create: Docker and Moby, Kubernetes pods,
 * containerd, CRI-O, Podman (libpod), LXC, and Cloud Foundry's garden.
 */
const CONTAINER_CGROUP_PATTERN = /(docker|kubepods|containerd|crio|libpod|lxc|garden|buildkit)/;

/**
 * Returns the signs that this process runs inside a container, in the order checked: the marker
 * files of Docker (`/.dockerenv`) and Podman (`/run/.containerenv`), the `container` variable that
 * container managers set, a runtime's path in PID 1's cgroups, and `KUBERNETES_SERVICE_HOST`.
 * An empty list means none was found.
 */
export async function detectContainer(paths: ContainerProbePaths = {}): Promise<string[]> {
  const root = paths.root ?? '/';
  const proc = paths.proc ?? '/proc';
  const env = paths.env ?? process.env;
  const signs: string[] = [];

  for (const marker of ['.dockerenv', 'run/.containerenv']) {
    const file = path.join(root, marker);
    if (await exists(file)) signs.push(`/${marker} exists`);
  }
  if (env.container) signs.push(`container=${env.container} is set`);

  const cgroups = await readFile(path.join(proc, '1', 'cgroup'), 'utf8').catch(() => '');
  const runtimeLine = cgroups
    .split('\n')
    .find((line) => CONTAINER_CGROUP_PATTERN.test(line.split(':').slice(2).join(':')));
  if (runtimeLine !== undefined) signs.push(`PID 1's cgroup is ${runtimeLine.trim()}`);

  if (env.KUBERNETES_SERVICE_HOST) signs.push('KUBERNETES_SERVICE_HOST is set');
  return signs;
}

/**
 * Raises NOT_IN_CONTAINER unless {@link detectContainer} finds a sign or `force` is set, because
 * a build with `--isolation=none` empties `/` and would wipe the machine it runs on.
 */
export async function assertInContainer(
  force: boolean,
  paths: ContainerProbePaths = {},
): Promise<string[]> {
  const signs = await detectContainer(paths);
  if (signs.length > 0 || force) return signs;
  throw new EngineError(
    'NOT_IN_CONTAINER',
    '--isolation=none empties / and needs a dedicated container, but no container sign was found',
    {
      hint:
        'Run kiln in a dedicated container (it empties / before each stage), or use the default ' +
        '--isolation=chroot. Pass --force only if this really is a throwaway container.',
    },
  );
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}
