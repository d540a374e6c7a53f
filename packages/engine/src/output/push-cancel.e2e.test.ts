import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  makeTempDir,
  pushBusybox,
  removeTempDir,
  startFaultProxy,
  startRegistry,
} from '@kiln/testkit';
import type { FaultProxy, TestRegistry } from '@kiln/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../build.js';
import { EngineError } from '../errors.js';

let registry: TestRegistry;
let proxy: FaultProxy;
let tmp: string;

beforeAll(async () => {
  registry = await startRegistry();
  await pushBusybox(registry);
  proxy = await startFaultProxy(registry.url);
  tmp = await makeTempDir('kiln-push-cancel-');
});

afterAll(async () => {
  await proxy?.stop();
  await registry?.stop();
  if (tmp) await removeTempDir(tmp);
});

describe('cancelling a push', () => {
  it('reports the cancel and puts no manifest', async () => {
    const context = path.join(tmp, 'context');
    await mkdir(context, { recursive: true });
    await writeFile(path.join(context, 'Dockerfile'), 'FROM busybox\nRUN echo ran > /ran.txt\n');
    // Hold every blob upload, so the cancel arrives while the push is in flight.
    proxy.addRule({
      method: 'PUT',
      path: /\/blobs\/uploads\//,
      times: 20,
      fault: { kind: 'delay', ms: 3000 },
    });
    const controller = new AbortController();
    const building = build({
      context,
      destinations: [`${proxy.host}/cancel/app:1`],
      insecureRegistries: [registry.host, proxy.host],
      registryMap: { 'docker.io': [registry.host] },
      workDir: path.join(tmp, 'work'),
      signal: controller.signal,
      registry: { dockerConfigDir: false },
    }).catch((error: unknown) => error);

    const uploading = (): boolean =>
      proxy.log.some((entry) => entry.method === 'PUT' && entry.path.includes('/blobs/uploads/'));
    for (let waited = 0; waited < 500 && !uploading(); waited++)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(uploading()).toBe(true);
    controller.abort();

    const error = await building;
    expect(error).toBeInstanceOf(EngineError);
    expect((error as EngineError).code).toBe('BUILD_CANCELLED');
    const manifestPuts = proxy.log.filter(
      (entry) => entry.method === 'PUT' && entry.path.includes('/manifests/'),
    );
    expect(manifestPuts).toEqual([]);
  });
});
