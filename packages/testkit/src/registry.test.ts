import { afterAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';

import { probeStatus } from './ports.js';
import { startRegistry } from './registry.js';
import type { TestRegistry } from './registry.js';

function basicAuth(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

describe('startRegistry', () => {
  const started: TestRegistry[] = [];
  afterAll(async () => {
    for (const registry of started) await registry.stop();
  });

  it('answers /v2/ anonymously', async () => {
    const registry = await startRegistry();
    started.push(registry);
    expect(registry.host).toBe(`127.0.0.1:${registry.port}`);
    expect(registry.url).toBe(`http://127.0.0.1:${registry.port}`);
    expect(await probeStatus(`${registry.url}/v2/`)).toBe(200);
  });

  it('answers 401 without credentials under htpasswd', async () => {
    const registry = await startRegistry({ htpasswd: { username: 'alice', password: 's3cret' } });
    started.push(registry);
    const anonymous = await fetch(`${registry.url}/v2/`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic realm=/);

    const authorized = await fetch(`${registry.url}/v2/`, {
      headers: { authorization: basicAuth('alice', 's3cret') },
    });
    expect(authorized.status).toBe(200);

    const wrong = await fetch(`${registry.url}/v2/`, {
      headers: { authorization: basicAuth('alice', 'nope') },
    });
    expect(wrong.status).toBe(401);
  });

  it('stop kills the server and removes its directory', async () => {
    const registry = await startRegistry();
    expect(existsSync(registry.storageDir.replace(/\/storage$/, ''))).toBe(true);
    await registry.stop();
    expect(await probeStatus(`${registry.url}/v2/`)).toBeUndefined();
    expect(existsSync(registry.logPath)).toBe(false);
  });

  it('two registries get different ports', async () => {
    const [a, b] = await Promise.all([startRegistry(), startRegistry()]);
    started.push(a, b);
    expect(a.port).not.toBe(b.port);
  });
});
