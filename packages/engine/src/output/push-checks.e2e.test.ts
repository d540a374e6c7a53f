import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  findFreePort,
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
import type { BuildEvent } from '../events.js';
import type { BuildOptions } from '../options.js';

const USER = 'pusher';
const PASSWORD = 'right-password-123';
const WRONG = 'wrong-password-789';

let bases: TestRegistry;
let secured: TestRegistry;
let proxy: FaultProxy;
let context: string;
let tmp: string;

beforeAll(async () => {
  bases = await startRegistry();
  await pushBusybox(bases);
  secured = await startRegistry({ htpasswd: { username: USER, password: PASSWORD } });
  proxy = await startFaultProxy(bases.url);
  tmp = await makeTempDir('kiln-push-checks-');
  context = path.join(tmp, 'context');
  await mkdir(context, { recursive: true });
  await writeFile(path.join(context, 'Dockerfile'), 'FROM busybox\nRUN echo ran > /ran.txt\n');
});

afterAll(async () => {
  await proxy?.stop();
  await secured?.stop();
  await bases?.stop();
  if (tmp) await removeTempDir(tmp);
});

async function buildTo(
  destination: string,
  extra: Partial<BuildOptions>,
): Promise<{ events: BuildEvent[]; error: unknown }> {
  const events: BuildEvent[] = [];
  const error = await build({
    context,
    destinations: [destination],
    insecureRegistries: [bases.host, secured.host, proxy.host],
    registryMap: { 'docker.io': [bases.host] },
    workDir: path.join(tmp, 'work'),
    onEvent: (event) => events.push(event),
    ...extra,
    registry: { dockerConfigDir: false, retries: { retries: 0 }, ...extra.registry },
  }).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  return { events, error };
}

describe('push permission check', () => {
  it('fails before any step with wrong credentials', async () => {
    const { events, error } = await buildTo(`${secured.host}/team/app:1`, {
      registry: { credentials: { [secured.host]: { username: USER, password: WRONG } } },
    });
    expect(error).toBeInstanceOf(EngineError);
    expect((error as EngineError).code).toBe('PUSH_FAILED');
    expect((error as EngineError).message).toContain(`No permission to push to ${secured.host}`);
    expect((error as EngineError).hint).toContain('Credentials found but rejected');
    expect((error as EngineError).hint).not.toContain(WRONG);
    expect(events.some((event) => event.type === 'step-start')).toBe(false);
    expect(events.some((event) => event.type === 'base-resolved')).toBe(false);
  });

  it('runs the steps when the check is off', async () => {
    const { events, error } = await buildTo(`${secured.host}/team/app:1`, {
      checkPushPermission: false,
      registry: { credentials: { [secured.host]: { username: USER, password: WRONG } } },
    });
    expect((error as EngineError).code).toBe('PUSH_FAILED');
    expect(events.some((event) => event.type === 'step-start')).toBe(true);
  });

  it('passes with the right credentials', async () => {
    const { error } = await buildTo(`${secured.host}/team/app:1`, {
      registry: { credentials: { [secured.host]: { username: USER, password: PASSWORD } } },
    });
    expect(error).toBeUndefined();
  });
});

describe('immutable tags', () => {
  const immutable = {
    method: 'PUT',
    path: /\/manifests\/1$/,
    fault: {
      kind: 'status' as const,
      status: 400,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        errors: [
          {
            code: 'TAG_INVALID',
            message:
              "The image tag '1' already exists in the 'team/app' repository and cannot be overwritten because the repository is immutable.",
          },
        ],
      }),
    },
  };

  it('fails the build by default', async () => {
    proxy.addRule({ ...immutable });
    const { error } = await buildTo(`${proxy.host}/team/app:1`, {});
    proxy.clearRules();
    expect((error as EngineError).code).toBe('PUSH_FAILED');
    expect((error as EngineError).message).toContain('immutable');
  });

  it('is a warning when ignored', async () => {
    proxy.addRule({ ...immutable });
    const { events, error } = await buildTo(`${proxy.host}/team/app:1`, {
      pushIgnoreImmutableTagErrors: true,
    });
    proxy.clearRules();
    expect(error).toBeUndefined();
    const warnings = events.filter((event) => event.type === 'warning');
    expect(warnings.map((event) => event.message).join('\n')).toContain(
      `Not pushed to ${proxy.host}/team/app:1`,
    );
    expect(events.some((event) => event.type === 'push-done')).toBe(false);
  });

  it('other push errors still fail when ignored', async () => {
    proxy.addRule({
      ...immutable,
      fault: { ...immutable.fault, body: '{"errors":[{"code":"TAG_INVALID","message":"bad"}]}' },
    });
    const { error } = await buildTo(`${proxy.host}/team/app:1`, {
      pushIgnoreImmutableTagErrors: true,
    });
    proxy.clearRules();
    expect((error as EngineError).code).toBe('PUSH_FAILED');
  });
});

describe('push permission check errors', () => {
  it('names an unreachable destination as such', async () => {
    // A free port on the loopback interface, so the connection is refused at once.
    const host = `127.0.0.1:${await findFreePort()}`;
    const { events, error } = await buildTo(`${host}/team/app:1`, {});
    expect((error as EngineError).code).toBe('PUSH_FAILED');
    expect((error as EngineError).message).toContain(
      `Checking push access to ${host}/team/app failed`,
    );
    expect(events.some((event) => event.type === 'step-start')).toBe(false);
  });
});
