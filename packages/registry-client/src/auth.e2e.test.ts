import { createReadStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  makeRandomImage,
  makeTempDir,
  skopeoInspect,
  startFaultProxy,
  startRegistry,
  startTokenServer,
} from '@kiln/testkit';
import type { RandomImage, TestRegistry, TestTokenServer } from '@kiln/testkit';

import { RegistryClient } from './client.js';
import type { PushImageInput } from './client.js';
import type { RegistryClientOptions } from './options.js';
import { RegistryError } from './errors.js';

const USER = 'kiln-user';
const PASSWORD = 'correct-horse-battery';

function pushInput(image: RandomImage): PushImageInput {
  return {
    manifestBytes: image.manifestBytes,
    mediaType: image.manifestDescriptor.mediaType,
    blobs: [image.config, ...image.layers].map((blob) => ({
      descriptor: blob.descriptor,
      open: () => createReadStream(blob.path),
    })),
  };
}

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

function newClient(options: RegistryClientOptions): RegistryClient {
  const client = new RegistryClient({
    insecure: true,
    dockerConfigDir: false,
    retries: { retries: 2, baseDelayMs: 10 },
    ...options,
  });
  cleanups.push(() => client.close());
  return client;
}

let image: RandomImage;
beforeAll(async () => {
  image = await makeRandomImage(await makeTempDir('auth-image'), { layerSizes: [20_000] });
});

describe('basic auth', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ htpasswd: { username: USER, password: PASSWORD } });
    cleanups.push(() => registry.stop());
  });

  it('pushes and pulls with explicit credentials', async () => {
    const client = newClient({
      credentials: { [registry.host]: { username: USER, password: PASSWORD } },
    });
    const { digest } = await client.pushImage(`${registry.host}/basic/app:v1`, pushInput(image));
    expect((await client.getManifest(`${registry.host}/basic/app:v1`)).descriptor.digest).toBe(
      digest,
    );
    const inspected = (await skopeoInspect(`${registry.host}/basic/app:v1`, {
      creds: `${USER}:${PASSWORD}`,
    })) as { Digest: string };
    expect(inspected.Digest).toBe(digest);
  });

  it('reads credentials from the docker config', async () => {
    const configDir = await makeTempDir('docker-config');
    const auth = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');
    await writeFile(
      join(configDir, 'config.json'),
      JSON.stringify({ auths: { [`http://${registry.host}`]: { auth } } }),
    );
    const client = newClient({ dockerConfigDir: configDir });
    expect(
      await client.hasBlob(`${registry.host}/basic/app:v1`, image.layers[0]!.descriptor.digest),
    ).toBe(true);
  });

  it('raises UNAUTHORIZED without leaking the password', async () => {
    const anonymous = newClient({});
    const denied = await anonymous
      .getManifest(`${registry.host}/basic/app:v1`)
      .catch((error: unknown) => error);
    expect(denied).toBeInstanceOf(RegistryError);
    expect((denied as RegistryError).code).toBe('UNAUTHORIZED');

    const wrong = newClient({
      credentials: { [registry.host]: { username: USER, password: 'wrong-password-123' } },
    });
    const rejected = await wrong
      .getManifest(`${registry.host}/basic/app:v1`)
      .catch((error: unknown) => error);
    expect((rejected as RegistryError).code).toBe('UNAUTHORIZED');
    expect((rejected as RegistryError).status).toBe(401);
    expect(
      JSON.stringify({
        ...(rejected as object),
        message: (rejected as Error).message,
        stack: (rejected as Error).stack,
      }),
    ).not.toContain('wrong-password-123');
  });
});

describe('bearer token auth', () => {
  let tokens: TestTokenServer;
  let registry: TestRegistry;
  beforeAll(async () => {
    tokens = await startTokenServer({
      users: { [USER]: PASSWORD },
      refreshTokens: { 'refresh-token-789': USER },
      allowAnonymous: true,
      expiresIn: 2,
    });
    cleanups.push(() => tokens.stop());
    registry = await startRegistry({ tokenAuth: tokens });
    cleanups.push(() => registry.stop());
  });

  it('gets scoped tokens from the realm and caches them', async () => {
    const client = newClient({
      credentials: { [registry.host]: { username: USER, password: PASSWORD } },
    });
    const before = tokens.requests.length;
    await client.pushImage(`${registry.host}/token/app:v1`, pushInput(image));
    const issued = tokens.requests.slice(before);
    expect(
      issued.every((request) => request.username === USER && request.service === tokens.service),
    ).toBe(true);
    expect(
      issued.some((request) =>
        request.scopes.some(
          (scope) => scope.name === 'token/app' && scope.actions.join(',') === 'pull,push',
        ),
      ),
    ).toBe(true);
    // The image has two blobs and a manifest, all under one push scope: far fewer tokens than requests.
    expect(issued.length).toBeLessThanOrEqual(2);

    const pulled = await client.getManifest(`${registry.host}/token/app:v1`);
    expect(pulled.descriptor.digest).toBe(image.manifestDescriptor.digest);
  });

  it('mounts across repositories with a token for both', async () => {
    const client = newClient({
      credentials: { [registry.host]: { username: USER, password: PASSWORD } },
    });
    const input = pushInput(image);
    input.blobs = input.blobs.map((blob) => ({ ...blob, mountFrom: ['token/app'] }));
    const before = tokens.requests.length;
    const result = await client.pushImage(`${registry.host}/token/mounted:v1`, input);
    expect(Object.values(result.blobs)).toEqual(['mounted', 'mounted']);
    const scopes = tokens.requests
      .slice(before)
      .flatMap((request) =>
        request.scopes.map((scope) => `${scope.name}:${scope.actions.join(',')}`),
      );
    expect(scopes).toContain('token/app:pull');
    expect(scopes).toContain('token/mounted:pull,push');
  });

  it('refreshes a token after it expires', async () => {
    const client = newClient({
      credentials: { [registry.host]: { username: USER, password: PASSWORD } },
    });
    await client.getManifest(`${registry.host}/token/app:v1`);
    const before = tokens.requests.length;
    await client.getManifest(`${registry.host}/token/app:v1`);
    expect(tokens.requests.length).toBe(before);
    // Tokens live 2 s and are dropped 1 s early.
    await sleep(1100);
    await client.getManifest(`${registry.host}/token/app:v1`);
    expect(tokens.requests.length).toBe(before + 1);
  });

  it('fetches a new token when the registry rejects one', async () => {
    const proxy = await startFaultProxy(registry.url);
    cleanups.push(() => proxy.stop());
    const client = newClient({
      credentials: { [proxy.host]: { username: USER, password: PASSWORD } },
    });
    await client.getManifest(`${proxy.host}/token/app:v1`);
    const before = tokens.requests.length;
    proxy.addRule({
      path: /\/manifests\/v1$/,
      fault: {
        kind: 'status',
        status: 401,
        headers: {
          'www-authenticate': `Bearer realm="${tokens.realm}",service="${tokens.service}",scope="repository:token/app:pull"`,
        },
      },
    });
    const again = await client.getManifest(`${proxy.host}/token/app:v1`);
    expect(again.descriptor.digest).toBe(image.manifestDescriptor.digest);
    expect(tokens.requests.length).toBe(before + 1);
  });

  it('pulls anonymously but cannot push', async () => {
    const client = newClient({});
    expect((await client.getManifest(`${registry.host}/token/app:v1`)).descriptor.digest).toBe(
      image.manifestDescriptor.digest,
    );
    const error = await client
      .pushImage(`${registry.host}/token/other:v1`, pushInput(image))
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RegistryError);
    expect(['UNAUTHORIZED', 'DENIED']).toContain((error as RegistryError).code);
    expect((error as RegistryError).repository).toBe('token/other');
  });

  it('rejects wrong credentials at the token server', async () => {
    const client = newClient({
      credentials: { [registry.host]: { username: USER, password: 'not-it-456' } },
    });
    const error = await client
      .getManifest(`${registry.host}/token/app:v1`)
      .catch((caught: unknown) => caught);
    expect((error as RegistryError).code).toBe('UNAUTHORIZED');
    expect((error as Error).message).toContain('token request');
    expect((error as Error).message).not.toContain('not-it-456');
  });

  it('exchanges an identity token from the docker config', async () => {
    const dir = await makeTempDir('identity');
    const config = {
      auths: {
        [registry.host]: {
          auth: Buffer.from(`${USER}:`).toString('base64'),
          identitytoken: 'refresh-token-789',
        },
      },
    };
    await writeFile(join(dir, 'config.json'), JSON.stringify(config));
    const client = newClient({ dockerConfigDir: dir });
    const before = tokens.requests.length;
    await client.pushImage(`${registry.host}/identity/app:v1`, pushInput(image));
    expect(tokens.requests.length).toBeGreaterThan(before);
    expect(tokens.requests.slice(before).every((request) => request.username === USER)).toBe(true);
  });

  it('uses a docker credential helper', async () => {
    const dir = await makeTempDir('helper');
    const bin = join(dir, 'bin');
    await mkdir(bin);
    const helper = join(bin, 'docker-credential-kilne2e');
    await writeFile(
      helper,
      `#!/bin/sh\ncat >/dev/null\necho '{"Username":"${USER}","Secret":"${PASSWORD}"}'\n`,
      { mode: 0o755 },
    );
    await writeFile(
      join(dir, 'config.json'),
      JSON.stringify({ credHelpers: { [registry.host]: 'kilne2e' } }),
    );
    const originalPath = process.env.PATH;
    process.env.PATH = `${bin}:${originalPath ?? ''}`;
    try {
      const client = newClient({ dockerConfigDir: dir });
      const before = tokens.requests.length;
      await client.pushImage(`${registry.host}/helper/app:v1`, pushInput(image));
      expect(tokens.requests.slice(before).every((request) => request.username === USER)).toBe(
        true,
      );
    } finally {
      process.env.PATH = originalPath;
    }
  });
});
