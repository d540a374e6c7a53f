import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { makeTempDir, startRegistry, startTokenServer } from '@kiln/testkit';
import type { TestRegistry, TestTokenServer } from '@kiln/testkit';

import { RegistryClient } from './client.js';
import { RegistryError } from './errors.js';
import type { RegistryClientOptions } from './options.js';

const USER = 'kiln-user';
const PASSWORD = 'correct-horse-battery';
const WRONG = 'wrong-password-456';

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

function newClient(options: RegistryClientOptions): RegistryClient {
  const client = new RegistryClient({
    insecure: true,
    retries: { retries: 1, baseDelayMs: 1 },
    ...options,
  });
  cleanups.push(() => client.close());
  return client;
}

/** Writes a docker config with the given content and returns its directory. */
async function dockerConfig(content: object): Promise<string> {
  const dir = await makeTempDir('push-permission-config');
  await writeFile(join(dir, 'config.json'), JSON.stringify(content));
  return dir;
}

async function rejection(promise: Promise<unknown>): Promise<RegistryError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(RegistryError);
  return error as RegistryError;
}

describe('checkPushPermission against basic auth', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ htpasswd: { username: USER, password: PASSWORD } });
    cleanups.push(() => registry.stop());
  });

  it('passes with the right credentials', async () => {
    const client = newClient({
      dockerConfigDir: false,
      credentials: { [registry.host]: { username: USER, password: PASSWORD } },
    });
    await expect(client.checkPushPermission(`${registry.host}/team/app:1`)).resolves.toBe(
      undefined,
    );
  });

  it('names the docker config whose credentials were rejected', async () => {
    const auth = Buffer.from(`${USER}:${WRONG}`).toString('base64');
    const dir = await dockerConfig({ auths: { [registry.host]: { auth } } });
    const error = await rejection(
      newClient({ dockerConfigDir: dir }).checkPushPermission(`${registry.host}/team/app:1`),
    );
    expect(error.code).toBe('UNAUTHORIZED');
    expect(error.hint).toContain('Credentials found but rejected');
    expect(error.hint).toContain(join(dir, 'config.json'));
    expect(error.credentialSource).toEqual({
      kind: 'docker-config',
      path: join(dir, 'config.json'),
    });
    const everything = JSON.stringify({ ...error, message: error.message, hint: error.hint });
    expect(everything).not.toContain(WRONG);
    expect(everything).not.toContain(auth);
  });

  it('says no credentials were found when the config has none', async () => {
    const dir = await dockerConfig({ auths: { 'other.example:5000': { auth: 'eDp5' } } });
    const error = await rejection(
      newClient({ dockerConfigDir: dir }).checkPushPermission(`${registry.host}/team/app:1`),
    );
    expect(error.code).toBe('UNAUTHORIZED');
    expect(error.hint).toContain(`No credentials found for ${registry.host}`);
    expect(error.hint).toContain(join(dir, 'config.json'));
  });

  it('names the credential helper whose credentials were rejected', async () => {
    const bin = await makeTempDir('push-permission-helper');
    const helper = join(bin, 'docker-credential-kilntest');
    await writeFile(
      helper,
      `#!/bin/sh\ncat >/dev/null\necho '{"Username":"${USER}","Secret":"${WRONG}"}'\n`,
      { mode: 0o755 },
    );
    const dir = await dockerConfig({ credHelpers: { [registry.host]: 'kilntest' } });
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path ?? ''}`;
    try {
      const error = await rejection(
        newClient({ dockerConfigDir: dir }).checkPushPermission(`${registry.host}/team/app:1`),
      );
      expect(error.hint).toContain('Credentials found but rejected');
      expect(error.hint).toContain('docker-credential-kilntest (credHelpers in');
      expect(error.hint).not.toContain(WRONG);
    } finally {
      process.env.PATH = path;
    }
  });
});

describe('checkPushPermission against token auth', () => {
  let tokens: TestTokenServer;
  let registry: TestRegistry;
  beforeAll(async () => {
    tokens = await startTokenServer({ users: { [USER]: PASSWORD }, allowAnonymous: true });
    cleanups.push(() => tokens.stop());
    registry = await startRegistry({ tokenAuth: tokens });
    cleanups.push(() => registry.stop());
  });

  it('passes with a user the token server grants push', async () => {
    const client = newClient({
      dockerConfigDir: false,
      credentials: { [registry.host]: { username: USER, password: PASSWORD } },
    });
    await expect(client.checkPushPermission(`${registry.host}/team/app:1`)).resolves.toBe(
      undefined,
    );
  });

  it('fails anonymously with a pull-only token', async () => {
    const error = await rejection(
      newClient({ dockerConfigDir: false }).checkPushPermission(`${registry.host}/team/app:1`),
    );
    expect(error.code).toBe('UNAUTHORIZED');
    expect(error.hint).toContain('No credentials found');
  });

  it('fails when the token server rejects the password', async () => {
    const client = newClient({
      dockerConfigDir: false,
      credentials: { [registry.host]: { username: USER, password: WRONG } },
    });
    const error = await rejection(client.checkPushPermission(`${registry.host}/team/app:1`));
    expect(error.status).toBe(401);
    expect(error.hint).toContain('Credentials found but rejected');
    expect(error.hint).toContain('explicit credentials');
  });
});
