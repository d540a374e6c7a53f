import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';

import { startFaultProxy } from './fault-proxy.js';
import { makeTempDir } from './process.js';
import { startRegistry } from './registry.js';
import { makeTlsFixtures } from './tls.js';
import { parseScope, startTokenServer } from './token-server.js';

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

function httpsStatus(url: string, ca: Buffer): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('TLS registry', () => {
  it('serves /v2/ with a certificate the test CA signed', async () => {
    const tls = await makeTlsFixtures(await makeTempDir('tls'));
    const registry = await startRegistry({
      tls: { certPath: tls.serverCertPath, keyPath: tls.serverKeyPath },
    });
    cleanups.push(() => registry.stop());
    expect(registry.url).toBe(`https://127.0.0.1:${registry.port}`);
    expect(await httpsStatus(`${registry.url}/v2/`, readFileSync(tls.caCertPath))).toBe(200);
    await expect(
      httpsStatus(`${registry.url}/v2/`, readFileSync(tls.serverCertPath)),
    ).rejects.toThrow();
  });
});

describe('token server', () => {
  it('parses scopes with slashes in the name', () => {
    expect(parseScope('repository:library/busybox:pull,push')).toEqual({
      type: 'repository',
      name: 'library/busybox',
      actions: ['pull', 'push'],
    });
    expect(parseScope('nonsense')).toBeUndefined();
  });

  it('issues tokens the registry accepts', async () => {
    const tokens = await startTokenServer({ users: { carol: 'pw' } });
    cleanups.push(() => tokens.stop());
    const registry = await startRegistry({ tokenAuth: tokens });
    cleanups.push(() => registry.stop());

    const challenge = await fetch(`${registry.url}/v2/`);
    expect(challenge.status).toBe(401);
    expect(challenge.headers.get('www-authenticate')).toContain(`Bearer realm="${tokens.realm}"`);

    const rejected = await fetch(`${tokens.realm}?service=${tokens.service}`, {
      headers: { authorization: `Basic ${Buffer.from('carol:wrong').toString('base64')}` },
    });
    expect(rejected.status).toBe(401);

    const issued = await fetch(
      `${tokens.realm}?service=${tokens.service}&scope=repository:a/b:pull`,
      {
        headers: { authorization: `Basic ${Buffer.from('carol:pw').toString('base64')}` },
      },
    );
    expect(issued.status).toBe(200);
    const { token } = (await issued.json()) as { token: string };
    const tags = await fetch(`${registry.url}/v2/a/b/tags/list`, {
      headers: { authorization: `Bearer ${token}` },
    });
    // The token is valid, so the registry gets as far as looking the repository up.
    expect(tags.status).toBe(404);
    expect(tokens.requests.at(-1)?.scopes).toEqual([
      { type: 'repository', name: 'a/b', actions: ['pull'] },
    ]);
  });
});

describe('fault proxy', () => {
  it('injects a status once, then forwards', async () => {
    const registry = await startRegistry();
    cleanups.push(() => registry.stop());
    const proxy = await startFaultProxy(registry.url);
    cleanups.push(() => proxy.stop());
    proxy.addRule({
      path: /^\/v2\/$/,
      fault: { kind: 'status', status: 429, headers: { 'retry-after': '1' } },
    });

    const first = await fetch(`${proxy.url}/v2/`);
    expect(first.status).toBe(429);
    expect(first.headers.get('retry-after')).toBe('1');
    const second = await fetch(`${proxy.url}/v2/`);
    expect(second.status).toBe(200);
    expect(proxy.log.map((entry) => entry.fault)).toEqual(['status', undefined]);
  });

  it('cuts a response after some bytes', async () => {
    const registry = await startRegistry();
    cleanups.push(() => registry.stop());
    const proxy = await startFaultProxy(registry.url);
    cleanups.push(() => proxy.stop());
    proxy.addRule({ path: /^\/v2\/$/, fault: { kind: 'reset-response', afterBytes: 1 } });
    await expect(fetch(`${proxy.url}/v2/`).then((res) => res.text())).rejects.toThrow();
  });
});
