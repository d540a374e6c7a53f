import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { RegistryClient } from './client.js';
import type { RegistryEvent } from './events.js';

// A registry that fails every request with 503, counting requests per method.
let server: Server;
let host: string;
const counts = new Map<string, number>();

beforeAll(async () => {
  server = createServer((request, response) => {
    counts.set(request.method ?? '', (counts.get(request.method ?? '') ?? 0) + 1);
    response.writeHead(503, { 'content-type': 'application/json' });
    response.end('{"errors":[{"code":"UNAVAILABLE","message":"down for a test"}]}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

function client(events: RegistryEvent[]): RegistryClient {
  return new RegistryClient({
    insecure: true,
    dockerConfigDir: false,
    retries: { retries: 5, baseDelayMs: 1, maxDelayMs: 2 },
    pullRetries: 3,
    pushRetries: 1,
    onEvent: (event) => events.push(event),
  });
}

describe('retry counts per direction', () => {
  it('retries a pull pullRetries times', async () => {
    counts.clear();
    const events: RegistryEvent[] = [];
    const registry = client(events);
    await expect(registry.getManifest(`${host}/app:1`)).rejects.toMatchObject({ status: 503 });
    await registry.close();
    expect(counts.get('GET')).toBe(4);
    expect(events.filter((event) => event.type === 'retry')).toHaveLength(3);
  });

  it('retries a push pushRetries times', async () => {
    counts.clear();
    const events: RegistryEvent[] = [];
    const registry = client(events);
    await expect(registry.checkPushPermission(`${host}/app:1`)).rejects.toMatchObject({
      status: 503,
    });
    await registry.close();
    expect(counts.get('POST')).toBe(2);
    expect(events.filter((event) => event.type === 'retry')).toHaveLength(1);
  });

  it('uses the shared count when no direction count is set', async () => {
    counts.clear();
    const registry = new RegistryClient({
      insecure: true,
      dockerConfigDir: false,
      retries: { retries: 2, baseDelayMs: 1, maxDelayMs: 2 },
    });
    await expect(registry.checkPushPermission(`${host}/app:1`)).rejects.toMatchObject({
      status: 503,
    });
    await registry.close();
    expect(counts.get('POST')).toBe(3);
  });
});
