// Builds the real-world cases with buildah and with the kiln CLI, compares the two images and runs
// each case's check in a chroot of both. Shared by the end-to-end test and the benchmark.
import process from 'node:process';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import {
  BUILD_NOISE_IGNORES,
  buildahBuild,
  chrootRun,
  compareImages,
  createBuildahStorage,
  formatDifference,
  readLayoutImage,
  umociUnpack,
} from '@kiln/testkit';

import { retryOnNetworkFailure } from './schedule.mjs';

export const realworldDir = dirname(fileURLToPath(import.meta.url));
export const casesDir = join(realworldDir, 'cases');
const repoRoot = join(realworldDir, '..', '..');
export const kilnCli = join(repoRoot, 'apps', 'cli', 'dist', 'main.js');

/**
 * @typedef {object} CaseCheck
 * @property {string[]} [argv] command to run; the image's Entrypoint and Cmd when omitted
 * @property {string} stdout expected standard output
 * @property {string} [buildahStdout] output of buildah's image where buildah departs from Docker (see the case's ignore reasons)
 *
 * @typedef {object} RealworldCase
 * @property {string} name directory name under cases/
 * @property {string} dir
 * @property {string} description
 * @property {string[]} features engine features the case needs
 * @property {Record<string, string>} buildArgs
 * @property {Record<string, string>} secrets secret id to a file path inside the case directory
 * @property {boolean} push whether the image is pushed for a child case to build on
 * @property {{ case: string, buildArg: string } | undefined} parent case whose pushed image is the base
 * @property {CaseCheck} check
 * @property {Array<{ path?: string, config?: string, fields?: string[], reason: string }>} ignore
 * @property {string | undefined} buildahUnsupported why buildah cannot build the case; it is then skipped
 * @property {string | undefined} kilnGap engine feature kiln lacks for the case, expected to fail until added
 * @property {number} estimateSeconds rough time of the case's two builds, to start long cases first
 */

/**
 * Differences where buildah 1.28 departs from Docker's builder, accepted in every case. The kiln
 * image is side A, buildah's side B.
 */
export const BUILDAH_DEPARTURES = [
  ...['/etc/hosts', '/etc/resolv.conf', '/run', '/run/secrets'].map((path) => ({
    path,
    onlyIn: 'b',
    reason:
      'buildah leaves the empty files and directories it mounts onto during RUN when the base lacks them; BuildKit removes such mount stubs',
  })),
];

/** Reads every case.json under cases/, parents before their children. */
export async function loadCases() {
  const names = (await readdir(casesDir)).sort();
  const cases = [];
  for (const name of names) {
    const dir = join(casesDir, name);
    const file = join(dir, 'case.json');
    if (!existsSync(file)) continue;
    const raw = JSON.parse(await readFile(file, 'utf8'));
    if (typeof raw.description !== 'string' || typeof raw.check?.stdout !== 'string') {
      throw new Error(`${file} is invalid: it needs a description and check.stdout`);
    }
    cases.push({
      name,
      dir,
      description: raw.description,
      features: raw.features ?? [],
      buildArgs: raw.buildArgs ?? {},
      secrets: raw.secrets ?? {},
      push: raw.push === true,
      parent: raw.parent,
      check: raw.check,
      ignore: raw.ignore ?? [],
      buildahUnsupported: raw.buildahUnsupported,
      kilnGap: raw.kilnGap,
      estimateSeconds: raw.estimateSeconds ?? 10,
    });
  }
  const known = new Set(cases.map((c) => c.name));
  for (const c of cases) {
    if (c.parent !== undefined && !known.has(c.parent.case)) {
      throw new Error(
        `case ${c.name} names the parent case ${c.parent.case}, which does not exist`,
      );
    }
  }
  // A parent sorts before its child so that its image is pushed first.
  return cases.sort((a, b) => depth(cases, a) - depth(cases, b) || a.name.localeCompare(b.name));
}

function depth(cases, c) {
  return c.parent === undefined
    ? 0
    : 1 +
        depth(
          cases,
          cases.find((p) => p.name === c.parent.case),
        );
}

/** Registry reference that `builder` pushes case `name` to. */
export function pushedReference(registryHost, name, builder) {
  return `${registryHost}/realworld/${name}-${builder}:latest`;
}

function buildArgsFor(c, registryHost, builder) {
  const args = { ...c.buildArgs };
  if (c.parent !== undefined) {
    args[c.parent.buildArg] = pushedReference(registryHost, c.parent.case, builder);
  }
  return args;
}

/**
 * Runs `kiln build` for a case into `layoutDir` (tag `latest`) and returns the time it took and
 * the peak resident memory of the kiln process (GNU time's %M). With `cacheDir`, kiln looks layers
 * up in its layer cache there and stores the ones it builds.
 */
export async function kilnBuild(c, { registryHost, layoutDir, kilnDir, cacheDir }) {
  const args = [
    kilnCli,
    'build',
    '--context',
    c.dir,
    '--oci-layout-path',
    layoutDir,
    '--registry-map',
    `docker.io=${registryHost}`,
    '--insecure-pull',
  ];
  for (const [key, value] of Object.entries(buildArgsFor(c, registryHost, 'kiln'))) {
    args.push('--build-arg', `${key}=${value}`);
  }
  for (const [id, file] of Object.entries(c.secrets)) {
    args.push('--secret', `id=${id},src=${join(c.dir, file)}`);
  }
  if (cacheDir !== undefined) args.push('--cache=true', '--cache-dir', cacheDir);
  if (c.push)
    args.push('--destination', pushedReference(registryHost, c.name, 'kiln'), '--insecure');
  else args.push('--no-push');
  return measure(process.execPath, args, { ...process.env, KILN_DIR: kilnDir });
}

/** Runs buildah for a case into `layoutDir` (tag `latest`) and returns its time and peak memory. */
export async function buildahCaseBuild(c, { registryHost, layoutDir, storage }) {
  const started = process.hrtime.bigint();
  await buildahBuild({
    contextDir: c.dir,
    tag: `realworld/${c.name}:latest`,
    registryHost,
    buildArgs: buildArgsFor(c, registryHost, 'buildah'),
    secrets: Object.fromEntries(Object.entries(c.secrets).map(([id, f]) => [id, join(c.dir, f)])),
    layers: true,
    layoutDir,
    destination: c.push ? pushedReference(registryHost, c.name, 'buildah') : undefined,
    storage,
  });
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

/**
 * Runs a command and resolves with its wall time and the peak resident set size in MiB of the
 * command and its waited-for children (GNU time's %M), or rejects with the last output lines.
 */
export function measure(file, args, env) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-f', 'kiln-peak-rss-kb=%M', file, ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const match = /kiln-peak-rss-kb=(\d+)/.exec(stderr);
      const peakMiB = match ? Number(match[1]) / 1024 : undefined;
      const output = stderr.replace(/kiln-peak-rss-kb=\d+\n?/, '');
      if (code !== 0) {
        const tail = output.trimEnd().split('\n').slice(-12).join('\n');
        // The whole output stays on the error so a retry can tell a network failure apart.
        reject(
          Object.assign(new Error(`${file} exited with code ${code}:\n${tail}`), {
            output: `${stdout}\n${output}`,
          }),
        );
        return;
      }
      resolve({ seconds, peakMiB, stdout, stderr: output });
    });
  });
}

/** Unpacks the image of `layoutDir` with umoci into `bundleDir`; returns the image and its rootfs. */
export async function unpackImage(layoutDir, bundleDir) {
  const image = await readLayoutImage(layoutDir);
  const rootfs = await umociUnpack(layoutDir, image.tag, bundleDir);
  return { image, rootfs };
}

/** Runs the case's check in a chroot of an image that `unpackImage` unpacked. */
export async function runCheck(c, { image, rootfs }, expected = c.check.stdout) {
  const config = image.config.config ?? {};
  const argv = c.check.argv ?? [...(config.Entrypoint ?? []), ...(config.Cmd ?? [])];
  const env = {};
  for (const entry of config.Env ?? []) {
    const equals = entry.indexOf('=');
    if (equals > 0) env[entry.slice(0, equals)] = entry.slice(equals + 1);
  }
  const cwd = c.check.argv === undefined && config.WorkingDir ? config.WorkingDir : undefined;
  // A container runtime creates a missing working directory, and buildah leaves WORKDIR's
  // directory uncreated when no later step uses it.
  if (cwd !== undefined) await mkdir(join(rootfs, cwd), { recursive: true });
  const result = await chrootRun(rootfs, argv, { env, cwd });
  return { ...result, passed: result.code === 0 && result.stdout === expected };
}

const secondsSince = (started) => Number(process.hrtime.bigint() - started) / 1e9;

/** Builds with buildah in storage of its own, removed afterwards; failures go into `result`. */
async function buildWithBuildah(c, result, { registryHost, layoutDir }) {
  const storage = await createBuildahStorage(registryHost);
  try {
    result.buildah = await retryOnNetworkFailure(
      () => buildahCaseBuild(c, { registryHost, layoutDir, storage }),
      (line) => result.retries.push({ builder: 'buildah', failure: line }),
    );
  } catch (error) {
    result.buildahError = String(error.message ?? error);
  } finally {
    await storage.remove();
  }
}

/** Builds with kiln; failures go into `result`. */
async function buildWithKiln(c, result, options) {
  try {
    const build = await retryOnNetworkFailure(
      () => kilnBuild(c, options),
      (line) => result.retries.push({ builder: 'kiln', failure: line }),
    );
    result.kiln = { seconds: build.seconds, peakMiB: build.peakMiB };
  } catch (error) {
    result.kilnError = String(error.message ?? error);
  }
}

/**
 * Builds one case with both builders at the same time, compares the two images and runs the
 * check in each. Build failures are recorded in the result rather than thrown, so that one run
 * reports on every case. `result.timings` contains the wall time of each phase in seconds, and
 * `result.retries` every build that was run again after a network failure.
 */
export async function runCase(c, { registryHost, workDir }) {
  const caseDir = join(workDir, c.name);
  await mkdir(caseDir, { recursive: true });
  const result = { name: c.name, features: c.features, retries: [], timings: {} };
  const kilnLayout = join(caseDir, 'kiln');
  const buildahLayout = join(caseDir, 'buildah');
  const started = process.hrtime.bigint();
  try {
    await Promise.all([
      c.buildahUnsupported === undefined
        ? buildWithBuildah(c, result, { registryHost, layoutDir: buildahLayout })
        : undefined,
      buildWithKiln(c, result, {
        registryHost,
        layoutDir: kilnLayout,
        kilnDir: join(caseDir, 'kiln-dir'),
      }),
    ]);
    result.timings.builds = secondsSince(started);

    // Each image is unpacked once: the comparison reads the trees before the checks run in them.
    let phase = process.hrtime.bigint();
    const [kilnImage, buildahImage] = await Promise.all([
      result.kiln ? unpackImage(kilnLayout, join(caseDir, 'kiln-bundle')) : undefined,
      result.buildah ? unpackImage(buildahLayout, join(caseDir, 'buildah-bundle')) : undefined,
    ]);
    result.timings.unpack = secondsSince(phase);

    phase = process.hrtime.bigint();
    if (kilnImage && buildahImage) {
      const comparison = await compareImages(
        { layoutDir: kilnLayout, rootfs: kilnImage.rootfs },
        { layoutDir: buildahLayout, rootfs: buildahImage.rootfs },
        { ignore: [...BUILD_NOISE_IGNORES, ...BUILDAH_DEPARTURES, ...c.ignore] },
      );
      result.differences = comparison.differences.map(formatDifference);
      result.ignoredCount = comparison.ignored.length;
    }
    result.timings.compare = secondsSince(phase);

    phase = process.hrtime.bigint();
    if (kilnImage) result.kilnCheck = await runCheck(c, kilnImage);
    if (buildahImage) {
      result.buildahCheck = await runCheck(
        c,
        buildahImage,
        c.check.buildahStdout ?? c.check.stdout,
      );
    }
    result.timings.checks = secondsSince(phase);
    result.timings.total = secondsSince(started);
    return result;
  } finally {
    // Layouts and unpacked trees of a Debian case take hundreds of MB; nothing reads them later.
    await rm(caseDir, { recursive: true, force: true });
  }
}
