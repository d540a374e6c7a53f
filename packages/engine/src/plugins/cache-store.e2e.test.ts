import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { definePlugin } from '@kiln/plugin-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../build.js';
import type { BuildEvent } from '../events.js';

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const httpCachePlugin = path.join(repoRoot, 'examples/plugins/http-cache/src/index.ts');
// The example keeps its nginx WebDAV helper out of its public exports, so it is loaded by path
// like the plugin itself.
const webDavHelper = path.join(repoRoot, 'examples/plugins/http-cache/src/testing/nginx-webdav.ts');

interface WebDavServer {
  url: string;
  requests(): Promise<string[]>;
  stop(): Promise<void>;
}

// Records the cache store a build handler receives, in a label.
const cacheNamePlugin = definePlugin({
  name: 'cache-name',
  apiVersion: '^1.0.0',
  instructions: [
    {
      phase: 'build',
      keyword: 'cachename',
      effect: 'metadata',
      async run(_instruction, context) {
        const config = context.imageConfig.config ?? {};
        config.Labels = { ...config.Labels, cache: context.cache?.name ?? 'none' };
        context.imageConfig.config = config;
      },
    },
  ],
});

let dir: string;
let server: WebDavServer;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-plugin-cache-e2e-'));
  const helper = (await import(pathToFileURL(webDavHelper).href)) as {
    startWebDavServer(): Promise<WebDavServer>;
  };
  server = await helper.startWebDavServer();
});

afterAll(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function buildOnce(context: string, run: number): Promise<BuildEvent[]> {
  const events: BuildEvent[] = [];
  const result = await build({
    context,
    noPush: true,
    reproducible: true,
    workDir: path.join(dir, `work-${run}`),
    plugins: [httpCachePlugin, cacheNamePlugin],
    cache: { enabled: true, repo: `${server.url}/layers` },
    onEvent: (event) => events.push(event),
  });
  expect(result.config.config?.Labels?.cache).toBe(`http:${server.url}/layers`);
  return events;
}

function cacheStatus(events: BuildEvent[]): string[] {
  return events.flatMap((event) => (event.type === 'step-done' ? [event.cache] : []));
}

describe('http-cache plugin store', () => {
  it('hits the WebDAV cache on the second build', async () => {
    const context = path.join(dir, 'context');
    await mkdir(context, { recursive: true });
    await writeFile(
      path.join(context, 'Dockerfile'),
      'FROM scratch\nCOPY a.txt /a.txt\nENV A=1\nCACHENAME\n',
    );
    await writeFile(path.join(context, 'a.txt'), 'cached content\n');

    const first = await buildOnce(context, 1);
    expect(cacheStatus(first)).toEqual(['miss', 'none', 'none']);
    const putsAfterFirst = (await server.requests()).filter((line) => line.startsWith('PUT '));
    expect(putsAfterFirst.length).toBeGreaterThan(0);

    const second = await buildOnce(context, 2);
    expect(cacheStatus(second)).toEqual(['hit', 'none', 'none']);
  });
});
