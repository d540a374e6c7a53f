import { afterEach, describe, expect, it } from 'vitest';

import { Transport } from './transport.js';

describe('Transport.endpoints', () => {
  let transport: Transport | undefined;
  afterEach(async () => {
    await transport?.close();
  });

  it('uses HTTPS and Docker Hub API host by default', () => {
    transport = new Transport({});
    const [origin] = transport.endpoints('docker.io', 'library/busybox', 'pull');
    expect(origin?.origin).toBe('https://registry-1.docker.io');
    expect(origin?.isOrigin).toBe(true);
  });

  it('tries mirrors, then the origin, for docker.io pulls only', () => {
    transport = new Transport({
      registryMirrors: ['mirror.local:5000'],
      insecure: ['mirror.local:5000'],
    });
    const pull = transport.endpoints('docker.io', 'library/busybox', 'pull');
    expect(pull.map((endpoint) => endpoint.origin)).toEqual([
      'http://mirror.local:5000',
      'https://registry-1.docker.io',
    ]);
    const push = transport.endpoints('docker.io', 'library/busybox', 'push');
    expect(push.map((endpoint) => endpoint.origin)).toEqual(['https://registry-1.docker.io']);
  });

  it('maps any registry with a path prefix and no fallback', () => {
    transport = new Transport({
      registryMap: { 'index.docker.io': ['127.0.0.1:5000/hub'] },
      skipDefaultRegistryFallback: true,
      insecurePull: true,
    });
    const endpoints = transport.endpoints('docker.io', 'library/busybox', 'pull');
    expect(endpoints).toHaveLength(1);
    expect(endpoints[0]?.origin).toBe('http://127.0.0.1:5000');
    expect(endpoints[0]?.repository).toBe('hub/library/busybox');
    expect(endpoints[0]?.isOrigin).toBe(false);
  });

  it('applies insecurePush to pushes only', () => {
    transport = new Transport({ insecurePush: ['reg.local'] });
    expect(transport.endpoint('reg.local', 'a', 'push', true).origin).toBe('http://reg.local');
    expect(transport.endpoint('reg.local', 'a', 'pull', true).origin).toBe('https://reg.local');
  });

  it('reports an unreadable CA file with the registry name', () => {
    transport = new Transport({ registryCertificates: { 'reg.local': '/nonexistent/ca.pem' } });
    expect(() => transport!.endpoint('reg.local', 'a', 'pull', true)).toThrow(
      /cannot read the CA certificate \/nonexistent\/ca.pem configured for reg.local/,
    );
  });
});
