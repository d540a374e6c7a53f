import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { makeTempDir, makeTlsFixtures, pushBusybox, startRegistry } from '@kiln/testkit';
import type { TestRegistry, TlsFixtures } from '@kiln/testkit';

import { RegistryClient } from './client.js';
import type { RegistryClientOptions } from './options.js';
import { RegistryError } from './errors.js';

describe('TLS', () => {
  let tls: TlsFixtures;
  let registry: TestRegistry;
  let mutual: TestRegistry;
  let reference: string;
  const clients: RegistryClient[] = [];

  beforeAll(async () => {
    tls = await makeTlsFixtures(await makeTempDir('tls'));
    registry = await startRegistry({
      tls: { certPath: tls.serverCertPath, keyPath: tls.serverKeyPath },
    });
    mutual = await startRegistry({
      tls: {
        certPath: tls.serverCertPath,
        keyPath: tls.serverKeyPath,
        clientCaPath: tls.caCertPath,
      },
    });
    reference = await pushBusybox(registry);
  });

  afterAll(async () => {
    for (const client of clients) await client.close();
    await registry?.stop();
    await mutual?.stop();
  });

  function newClient(options: RegistryClientOptions): RegistryClient {
    const client = new RegistryClient({ dockerConfigDir: false, retries: 0, ...options });
    clients.push(client);
    return client;
  }

  it('trusts a registry CA file beside the system CAs', async () => {
    const client = newClient({ registryCertificates: { [registry.host]: tls.caCertPath } });
    const manifest = await client.getManifest(reference);
    expect(manifest.descriptor.size).toBeGreaterThan(0);
  });

  it('fails with TLS_ERROR for an unknown CA', async () => {
    const client = newClient({});
    const error = await client.getManifest(reference).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).code).toBe('TLS_ERROR');
    expect((error as RegistryError).hint).toContain('registryCertificates');
  });

  it('skips verification only for the listed registry', async () => {
    const client = newClient({ skipTlsVerify: [registry.host] });
    expect((await client.getManifest(reference)).descriptor.size).toBeGreaterThan(0);
    const pullOnly = newClient({ skipTlsVerifyPull: true });
    expect((await pullOnly.getManifest(reference)).descriptor.size).toBeGreaterThan(0);
    const pushOnly = newClient({ skipTlsVerifyPush: true });
    await expect(pushOnly.getManifest(reference)).rejects.toThrow(/TLS error/);
  });

  it('presents a client certificate when the registry requires one', async () => {
    const withCert = newClient({
      registryCertificates: { [mutual.host]: tls.caCertPath },
      registryClientCerts: { [mutual.host]: { cert: tls.clientCertPath, key: tls.clientKeyPath } },
    });
    expect(
      await withCert.hasBlob(`${mutual.host}/library/busybox`, `sha256:${'1'.repeat(64)}`),
    ).toBe(false);

    const without = newClient({ registryCertificates: { [mutual.host]: tls.caCertPath } });
    const error = await without
      .hasBlob(`${mutual.host}/library/busybox`, `sha256:${'1'.repeat(64)}`)
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RegistryError);
    expect(['TLS_ERROR', 'NETWORK_ERROR']).toContain((error as RegistryError).code);
  });
});
