import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { makeTempDir, pushBusybox, removeTempDir, startRegistry } from '@kiln/testkit';
import type { TestRegistry } from '@kiln/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../build.js';
import type { BuildOptions, BuildResult } from '../options.js';

const run = promisify(execFile);

let registry: TestRegistry;
let tmp: string;

beforeAll(async () => {
  registry = await startRegistry();
  await pushBusybox(registry);
  tmp = await makeTempDir('kiln-single-snapshot-');
});

afterAll(async () => {
  await registry?.stop();
  if (tmp) await removeTempDir(tmp);
});

// a.txt is copied and then removed in the same stage, so one stage layer contains neither it nor a whiteout.
const DOCKERFILE = `FROM busybox
COPY a.txt /a.txt
RUN echo b > /b.txt
ENV STAGE=one
RUN rm /a.txt && echo c > /c.txt
`;

async function buildLayout(name: string, extra: Partial<BuildOptions>): Promise<BuildResult> {
  const context = path.join(tmp, name);
  await mkdir(context, { recursive: true });
  await writeFile(path.join(context, 'Dockerfile'), DOCKERFILE);
  await writeFile(path.join(context, 'a.txt'), 'a\n');
  return build({
    context,
    noPush: true,
    insecureRegistries: [registry.host],
    registryMap: { 'docker.io': [registry.host] },
    ociLayoutPath: path.join(tmp, `${name}-layout`),
    workDir: path.join(tmp, 'work'),
    ...extra,
  });
}

/** Lists the entries of a layer blob of an OCI layout, without a leading "./". */
async function layerEntries(layout: string, digest: string): Promise<string[]> {
  const blob = path.join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length));
  const { stdout } = await run('tar', ['-tzf', blob]);
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((entry) => entry.replace(/^\.\//, '').replace(/\/$/, ''));
}

describe.each(['auto', 'walk'] as const)('single snapshot with %s snapshots', (snapshotter) => {
  let single: BuildResult;
  let perStep: BuildResult;
  let baseLayers: number;
  const name = `single-${snapshotter}`;

  beforeAll(async () => {
    single = await buildLayout(name, { singleSnapshot: true, snapshotter });
    perStep = await buildLayout(`per-step-${snapshotter}`, { snapshotter });
    baseLayers = perStep.manifest.layers.length - 3;
  });

  it('adds one layer for the stage', () => {
    expect(perStep.manifest.layers.length).toBe(baseLayers + 3);
    expect(single.manifest.layers.length).toBe(baseLayers + 1);
  });

  it('keeps one history entry per instruction', () => {
    const history = single.config.history ?? [];
    const stageEntries = history.slice(-4);
    expect(stageEntries.map((entry) => entry.created_by?.split(' ')[0])).toEqual([
      'COPY',
      'RUN',
      'ENV',
      'RUN',
    ]);
    expect(stageEntries.map((entry) => entry.empty_layer === true)).toEqual([
      true,
      true,
      true,
      false,
    ]);
    expect(stageEntries[3]?.created_by).toContain('rm /a.txt');
  });

  it('stage layer contains only the end state', async () => {
    const layer = single.manifest.layers.at(-1);
    const entries = await layerEntries(path.join(tmp, `${name}-layout`), layer?.digest ?? '');
    expect(entries).toContain('b.txt');
    expect(entries).toContain('c.txt');
    expect(entries.some((entry) => entry.endsWith('a.txt'))).toBe(false);
  });

  it('stage layer leaves out RUN mount points', async () => {
    // Each RUN creates and removes empty /etc/resolv.conf and /etc/hosts mount points, which the
    // per-step layers do not show, so the stage layer must not show /etc either.
    const layout = path.join(tmp, `${name}-layout`);
    const stageEntries = await layerEntries(layout, single.manifest.layers.at(-1)?.digest ?? '');
    const perStepLayout = path.join(tmp, `per-step-${snapshotter}-layout`);
    const perStepEntries = await Promise.all(
      perStep.manifest.layers
        .slice(baseLayers)
        .map((layer) => layerEntries(perStepLayout, layer.digest)),
    );
    expect(perStepEntries.flat()).not.toContain('etc');
    expect(stageEntries).not.toContain('etc');
  });

  it('config matches the per-step build', () => {
    expect(single.config.config?.Env).toEqual(perStep.config.config?.Env);
    expect(single.config.rootfs.diff_ids.length).toBe(single.manifest.layers.length);
  });
});

describe('snapshot mode', () => {
  // chmod changes the mode and ctime but not the mtime, so only `time` misses it.
  const chmodOnly = 'FROM busybox\nRUN chmod 600 /etc/group\n';

  it.each([
    ['full', 1],
    ['redo', 1],
    ['time', 0],
  ] as const)('%s finds %i layer for a chmod', async (snapshotMode, layers) => {
    const context = path.join(tmp, `mode-${snapshotMode}`);
    await mkdir(context, { recursive: true });
    await writeFile(path.join(context, 'Dockerfile'), chmodOnly);
    const built = await build({
      context,
      noPush: true,
      insecureRegistries: [registry.host],
      registryMap: { 'docker.io': [registry.host] },
      workDir: path.join(tmp, 'work'),
      snapshotter: 'walk',
      snapshotMode,
    });
    const last = built.config.history?.at(-1);
    expect(last?.created_by).toContain('chmod 600 /etc/group');
    expect(last?.empty_layer === true).toBe(layers === 0);
    const withLayers = built.config.history?.filter((entry) => entry.empty_layer !== true);
    expect(built.manifest.layers.length).toBe(withLayers?.length);
  });
});

describe.each(['auto', 'walk'] as const)(
  'single snapshot of /etc with %s snapshots',
  (snapshotter) => {
    it('keeps /etc when a command changed it', async () => {
      // The file is gone at the end, but /etc's times changed, as the per-step layer shows too.
      const context = path.join(tmp, `etc-touched-${snapshotter}`);
      await mkdir(context, { recursive: true });
      await writeFile(
        path.join(context, 'Dockerfile'),
        'FROM busybox\nRUN touch /etc/x && rm /etc/x\n',
      );
      const layout = path.join(tmp, `etc-touched-${snapshotter}-layout`);
      const built = await build({
        context,
        noPush: true,
        insecureRegistries: [registry.host],
        registryMap: { 'docker.io': [registry.host] },
        ociLayoutPath: layout,
        workDir: path.join(tmp, 'work'),
        snapshotter,
        singleSnapshot: true,
      });
      const entries = await layerEntries(layout, built.manifest.layers.at(-1)?.digest ?? '');
      expect(entries).toEqual(['etc']);
    });
  },
);
