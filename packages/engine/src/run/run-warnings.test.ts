import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../build.js';
import type { BuildEvent } from '../events.js';

// The host's static busybox (Debian's busybox-static) runs RUN in an image built FROM scratch.
let dir: string;
let count = 0;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-run-warnings-test-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function makeContext(dockerfile: string): Promise<string> {
  count += 1;
  const context = path.join(dir, `context-${count}`);
  await mkdir(context, { recursive: true });
  await writeFile(path.join(context, 'Dockerfile'), dockerfile);
  await copyFile('/bin/busybox', path.join(context, 'busybox'));
  return context;
}

/** Builds the context and returns the messages of its warning events with their lines. */
async function buildWarnings(context: string): Promise<Array<[string, number | undefined]>> {
  const warnings: Array<[string, number | undefined]> = [];
  await build({
    context,
    noPush: true,
    workDir: path.join(dir, 'work'),
    onEvent: (event: BuildEvent) => {
      if (event.type === 'warning') warnings.push([event.message, event.line]);
    },
  });
  return warnings;
}

describe('RUN sandbox warnings', () => {
  it('warns when /proc and /dev are missing', async () => {
    const context = await makeContext(
      'FROM scratch\nCOPY busybox /busybox\nRUN ["/busybox", "test", "-e", "/proc/self/stat"]\n',
    );
    const warnings = await buildWarnings(context);

    expect(warnings).toContainEqual([
      'The image has no /proc, so RUN mounts proc on a directory that it removes after the command',
      3,
    ]);
    expect(warnings).toContainEqual([
      'The image has no /dev, so RUN mounts dev on a directory that it removes after the command',
      3,
    ]);
  });

  it('warns when /proc is a symlink', async () => {
    const context = await makeContext(
      'FROM scratch\nCOPY busybox /busybox\nCOPY links/ /\nRUN ["/busybox", "test", "!", "-e", "/proc/self/stat"]\n',
    );
    await mkdir(path.join(context, 'links'));
    await symlink('/tmp', path.join(context, 'links/proc'));
    const warnings = await buildWarnings(context);

    expect(warnings).toContainEqual([
      '/proc in the image is a symlink, so RUN runs without proc mounted there',
      4,
    ]);
  });
});

describe('COPY skipped files', () => {
  it('warns about a socket in the context', async () => {
    const context = await makeContext('FROM scratch\nCOPY . /app/\n');
    const server = net.createServer();
    await new Promise<void>((resolve) =>
      server.listen(path.join(context, 'control.sock'), resolve),
    );
    try {
      const warnings = await buildWarnings(context);
      expect(warnings).toContainEqual([
        'COPY skipped control.sock: a socket cannot be stored in a layer',
        2,
      ]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
