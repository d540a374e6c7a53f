import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EngineError } from '../errors.js';
import { assertInContainer, detectContainer } from './container-guard.js';

// Every case runs against a fake root and a fake /proc in a temp dir, never the machine's own.
let dir: string;
let root: string;
let proc: string;

const HOST_CGROUP_V1 = '12:pids:/user.slice/user-0.slice/session-3.scope\n0::/user.slice\n';

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-guard-'));
  root = path.join(dir, 'root');
  proc = path.join(dir, 'proc');
  await mkdir(path.join(root, 'run'), { recursive: true });
  await mkdir(path.join(proc, '1'), { recursive: true });
  await writeFile(path.join(proc, '1', 'cgroup'), HOST_CGROUP_V1);
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('detectContainer', () => {
  it('finds no sign on a plain host', async () => {
    expect(await detectContainer({ root, proc, env: { PATH: '/usr/bin' } })).toEqual([]);
  });

  it('finds the Docker marker file', async () => {
    await writeFile(path.join(root, '.dockerenv'), '');
    expect(await detectContainer({ root, proc, env: {} })).toEqual(['/.dockerenv exists']);
  });

  it('finds the Podman marker file', async () => {
    await writeFile(path.join(root, 'run', '.containerenv'), 'engine="podman"\n');
    expect(await detectContainer({ root, proc, env: {} })).toEqual(['/run/.containerenv exists']);
  });

  it('finds the container variable', async () => {
    const signs = await detectContainer({ root, proc, env: { container: 'podman' } });
    expect(signs).toEqual(['container=podman is set']);
  });

  it('ignores an empty container variable', async () => {
    expect(await detectContainer({ root, proc, env: { container: '' } })).toEqual([]);
  });

  it('finds runtime cgroup paths', async () => {
    const samples = [
      '11:memory:/docker/3f1c0a9d2b7e\n',
      '0::/kubepods/besteffort/pod1234/abcd\n',
      '1:name=systemd:/system.slice/containerd.service/kubepods-pod1.slice:cri-containerd:ab\n',
      '0::/machine.slice/libpod-9a8b7c.scope\n',
      '0::/lxc.payload.web\n',
    ];
    for (const sample of samples) {
      await writeFile(path.join(proc, '1', 'cgroup'), sample);
      const signs = await detectContainer({ root, proc, env: {} });
      expect(signs, sample).toHaveLength(1);
      expect(signs[0], sample).toContain("PID 1's cgroup is");
    }
  });

  it('ignores a runtime name in the controller field', async () => {
    await writeFile(path.join(proc, '1', 'cgroup'), '3:docker-controller:/\n');
    expect(await detectContainer({ root, proc, env: {} })).toEqual([]);
  });

  it('finds the Kubernetes service variable', async () => {
    const signs = await detectContainer({
      root,
      proc,
      env: { KUBERNETES_SERVICE_HOST: '10.0.0.1' },
    });
    expect(signs).toEqual(['KUBERNETES_SERVICE_HOST is set']);
  });

  it('reads a missing proc as no sign', async () => {
    await rm(proc, { recursive: true });
    expect(await detectContainer({ root, proc, env: {} })).toEqual([]);
  });
});

describe('assertInContainer', () => {
  it('raises NOT_IN_CONTAINER on a plain host', async () => {
    const failure = await assertInContainer(false, { root, proc, env: {} }).catch(
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(EngineError);
    expect((failure as EngineError).code).toBe('NOT_IN_CONTAINER');
    expect((failure as EngineError).message).toContain('needs a dedicated container');
    expect((failure as EngineError).hint).toContain('--force');
  });

  it('passes with force on a plain host', async () => {
    expect(await assertInContainer(true, { root, proc, env: {} })).toEqual([]);
  });

  it('returns the signs it found', async () => {
    await writeFile(path.join(root, '.dockerenv'), '');
    expect(await assertInContainer(false, { root, proc, env: {} })).toEqual(['/.dockerenv exists']);
  });
});
