import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  buildahBuild,
  compareImages,
  createBuildahStorage,
  formatDifference,
  makeTempDir,
  pushBusybox,
  removeTempDir,
  startRegistry,
} from '@kiln/testkit';
import type { BuildahStorage, IgnoreRule, TestRegistry } from '@kiln/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../build.js';
import { EQUIVALENCE_CASES } from './cases.js';

const exec = promisify(execFile);
let registry: TestRegistry;
let storage: BuildahStorage;
let work: string;

beforeAll(async () => {
  registry = await startRegistry();
  await pushBusybox(registry);
  storage = await createBuildahStorage(registry.host);
  work = await makeTempDir('kiln-equivalence');
}, 120_000);

afterAll(async () => {
  await storage?.remove();
  await registry?.stop();
  if (work) await removeTempDir(work);
});

/** Differences every buildah 1.28 build shows against Docker's builder, with the reason. */
const BUILDAH_DEPARTURES: readonly IgnoreRule[] = [
  {
    path: '/etc/hostname',
    onlyIn: 'b',
    reason:
      'buildah 1.28 leaves the /etc/hostname it mounted for RUN in the image; BuildKit mounts it and keeps it out',
  },
  {
    path: '/etc/hosts',
    onlyIn: 'b',
    reason: 'buildah leaves the RUN-time /etc/hosts file in the image; BuildKit keeps it out',
  },
  {
    path: '/etc/resolv.conf',
    onlyIn: 'b',
    reason: 'buildah leaves the RUN-time /etc/resolv.conf file in the image; BuildKit keeps it out',
  },
  {
    path: '/run',
    onlyIn: 'b',
    reason: 'buildah creates /run as a mount point for RUN; BuildKit does not add it to the image',
  },
  {
    path: '/run/**',
    onlyIn: 'b',
    reason: 'buildah leaves files of its RUN-time /run mount behind',
  },
];

describe('equivalence with buildah bud', () => {
  for (const testCase of EQUIVALENCE_CASES) {
    it(
      testCase.name,
      async () => {
        const context = path.join(work, testCase.name.replace(/\W+/g, '-'));
        for (const [name, content] of Object.entries({
          Dockerfile: testCase.dockerfile,
          ...testCase.files,
        })) {
          await mkdir(path.dirname(path.join(context, name)), { recursive: true });
          await writeFile(path.join(context, name), content);
        }
        if (testCase.prepare) await exec('sh', ['-c', testCase.prepare], { cwd: context });
        const kilnLayout = `${context}-kiln`;
        const buildahLayout = `${context}-buildah`;
        const kiln = await build({
          context,
          noPush: true,
          ociLayoutPath: kilnLayout,
          insecurePull: true,
          insecureRegistries: [registry.host],
          registryMap: { 'docker.io': [registry.host] },
          buildArgs: testCase.buildArgs ?? {},
          ...(testCase.target === undefined ? {} : { target: testCase.target }),
          workDir: path.join(work, 'kiln-work'),
        });
        await buildahBuild({
          contextDir: context,
          tag: `equivalence/${path.basename(context)}:latest`,
          registryHost: registry.host,
          buildArgs: testCase.buildArgs ?? {},
          ...(testCase.target === undefined ? {} : { target: testCase.target }),
          layoutDir: buildahLayout,
          storage,
        });
        const comparison = await compareImages(
          { layoutDir: kilnLayout },
          { layoutDir: buildahLayout },
          { ignore: [...BUILDAH_DEPARTURES, ...(testCase.ignore ?? [])] },
        );
        expect(comparison.differences.map(formatDifference)).toEqual([]);
        expect(comparison.entryCount.a).toBeGreaterThan(0);
        if (testCase.dockerEnv) expect(kiln.config.config?.Env).toEqual(testCase.dockerEnv);
        if (testCase.dockerCmd) expect(kiln.config.config?.Cmd).toEqual(testCase.dockerCmd);
      },
      120_000,
    );
  }
});
