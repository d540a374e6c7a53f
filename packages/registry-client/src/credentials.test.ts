import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CredentialStore } from './credentials.js';
import { RegistryError } from './errors.js';

// A fake docker-credential helper that returns credentials per server URL, as a real one does.
const HELPER = `#!/bin/sh
read -r server
case "$server" in
  reg.helper:5000) echo '{"ServerURL":"reg.helper:5000","Username":"helperuser","Secret":"helper-secret"}' ;;
  https://index.docker.io/v1/) echo '{"Username":"<token>","Secret":"refresh-xyz"}' ;;
  broken.example) echo "leaked-secret-value"; exit 2 ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
`;

describe('CredentialStore', () => {
  let dir: string;
  let originalPath: string | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kiln-creds-'));
    await writeFile(join(dir, 'docker-credential-kilntest'), HELPER);
    await chmod(join(dir, 'docker-credential-kilntest'), 0o755);
    originalPath = process.env.PATH;
    process.env.PATH = `${dir}:${originalPath ?? ''}`;
    const config = {
      auths: {
        'https://index.docker.io/v1/': { auth: Buffer.from('hubuser:hubpass').toString('base64') },
        'reg.auths:5000': { username: 'plain', password: 'pw' },
        'reg.token': { registrytoken: 'static-token' },
      },
      credHelpers: {
        'reg.helper:5000': 'kilntest',
        'broken.example': 'kilntest',
        'reg.missing': 'absent-helper',
      },
    };
    await writeFile(join(dir, 'config.json'), JSON.stringify(config));
  });

  afterAll(async () => {
    process.env.PATH = originalPath;
    await rm(dir, { recursive: true, force: true });
  });

  it('reads auths, with Docker Hub under its v1 URL', async () => {
    const store = new CredentialStore({}, dir);
    expect(await store.get('docker.io')).toEqual({
      kind: 'basic',
      username: 'hubuser',
      password: 'hubpass',
    });
    expect(await store.get('index.docker.io')).toEqual({
      kind: 'basic',
      username: 'hubuser',
      password: 'hubpass',
    });
    expect(await store.get('reg.auths:5000')).toEqual({
      kind: 'basic',
      username: 'plain',
      password: 'pw',
    });
    expect(await store.get('reg.token')).toEqual({ kind: 'bearer', token: 'static-token' });
    expect(await store.get('unknown.example')).toBeUndefined();
  });

  it('runs credential helpers from credHelpers', async () => {
    const store = new CredentialStore({}, dir);
    expect(await store.get('reg.helper:5000')).toEqual({
      kind: 'basic',
      username: 'helperuser',
      password: 'helper-secret',
    });
  });

  it('treats "credentials not found" as anonymous', async () => {
    const storeDir = await mkdtemp(join(tmpdir(), 'kiln-creds-store-'));
    await writeFile(join(storeDir, 'config.json'), JSON.stringify({ credsStore: 'kilntest' }));
    const store = new CredentialStore({}, storeDir);
    expect(await store.get('nothing.example')).toBeUndefined();
    expect(await store.get('docker.io')).toEqual({
      kind: 'identity-token',
      username: '',
      identityToken: 'refresh-xyz',
    });
    await rm(storeDir, { recursive: true, force: true });
  });

  it('reports helper failures without their output', async () => {
    const store = new CredentialStore({}, dir);
    const error = await store.get('broken.example').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).code).toBe('CREDENTIAL_HELPER_FAILED');
    expect((error as RegistryError).message).toContain(
      'docker-credential-kilntest failed for broken.example with exit code 2',
    );
    expect((error as RegistryError).message).not.toContain('leaked-secret-value');
  });

  it('names a missing helper program', async () => {
    const store = new CredentialStore({}, dir);
    await expect(store.get('reg.missing')).rejects.toThrow(
      /docker-credential-absent-helper could not be started/,
    );
  });

  it('prefers explicit credentials', async () => {
    const store = new CredentialStore(
      { 'reg.helper:5000': { username: 'me', password: 'mine' } },
      dir,
    );
    expect(await store.get('reg.helper:5000')).toEqual({
      kind: 'basic',
      username: 'me',
      password: 'mine',
    });
  });

  it('reads nothing when the config is disabled', async () => {
    const store = new CredentialStore({}, false);
    expect(await store.get('docker.io')).toBeUndefined();
  });
});
