import { execFile, spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { copyFile, lstat, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../build.js';
import type { BuildOptions } from '../options.js';
import { parseSshSpec } from './ssh-agent.js';

// Real ssh-agent, ssh-add and ssh-keygen (openssh-client), and a static Go program that speaks
// the agent protocol inside RUN, in an image that has nothing else.
const exec = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
let dir: string;
let key: string;
let queryBinary: string;
let ownAgent: ChildProcess | undefined;
let ownSocket: string;
let count = 0;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-ssh-e2e-'));
  key = path.join(dir, 'id_ed25519');
  await exec('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'kiln-test-key', '-f', key]);
  queryBinary = path.join(dir, 'agent-query');
  await exec('go', ['build', '-o', queryBinary, path.join(here, 'testdata/agent-query.go')], {
    env: {
      ...process.env,
      CGO_ENABLED: '0',
      GO111MODULE: 'off',
      GOCACHE: path.join(dir, 'go-cache'),
      GOPATH: path.join(dir, 'go-path'),
    },
  });
  // The test's own agent, with the same key and a second one.
  ownSocket = path.join(dir, 'own.sock');
  ownAgent = spawn('ssh-agent', ['-D', '-a', ownSocket], { stdio: 'ignore' });
  for (let attempt = 0; attempt < 100; attempt += 1) {
    if ((await lstat(ownSocket).catch(() => undefined))?.isSocket()) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const second = path.join(dir, 'second');
  await exec('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'own-agent-key', '-f', second]);
  await exec('ssh-add', ['-q', key, second], {
    env: { PATH: process.env.PATH, SSH_AUTH_SOCK: ownSocket },
  });
}, 120_000);

afterAll(async () => {
  ownAgent?.kill();
  await rm(dir, { recursive: true, force: true });
});

/** Builds `dockerfile` (with the agent-query binary in its context) and returns the RUN output lines. */
async function buildWithSsh(dockerfile: string, ssh: BuildOptions['ssh']) {
  count += 1;
  const context = path.join(dir, `context-${count}`);
  await mkdir(context, { recursive: true });
  await writeFile(path.join(context, 'Dockerfile'), dockerfile);
  await copyFile(queryBinary, path.join(context, 'agent-query'));
  const output: string[] = [];
  const result = await build({
    context,
    noPush: true,
    ssh,
    workDir: path.join(dir, 'work'),
    onEvent: (event) => {
      if (event.type === 'step-output') output.push(event.line);
    },
  });
  return { output, result };
}

/**
 * Lists running ssh-agents that kiln started for this test run: their sockets lie under the
 * run's temp directory (the work dir, or the temp directory itself for a long work dir path).
 */
async function kilnAgents(): Promise<string[]> {
  const { stdout } = await exec('pgrep', ['-a', '-f', 'ssh-agent -D -a']).catch(() => ({
    stdout: '',
  }));
  return ownedByKiln(stdout);
}

/** Lists the same agents synchronously, for a build event handler. */
function kilnAgentsNow(): string[] {
  const found = spawnSync('pgrep', ['-a', '-f', 'ssh-agent -D -a'], { encoding: 'utf8' });
  return ownedByKiln(found.stdout);
}

/** Keeps the `pgrep -a` lines (PID and command) of agents under the temp directory but not the test's. */
function ownedByKiln(pgrepOutput: string): string[] {
  return pgrepOutput
    .split('\n')
    .filter((line) => line.includes(os.tmpdir()) && !line.includes(ownSocket));
}

describe('RUN --mount=type=ssh', () => {
  it('serves key files through an agent kiln starts', async () => {
    const { output, result } = await buildWithSsh(
      [
        'FROM scratch',
        'COPY agent-query /agent-query',
        'RUN --mount=type=ssh ["/agent-query"]',
      ].join('\n'),
      [parseSshSpec(`default=${key}`)],
    );

    expect(output).toContain('socket=/run/buildkit/ssh_agent.0 mode=600 uid=0 gid=0');
    expect(output).toContain('keys=1');
    expect(output).toContain('comment=kiln-test-key');
    // The RUN wrote nothing, so the mount point left no layer behind.
    expect(result.manifest.layers).toHaveLength(1);
    // The agent kiln started is stopped when the build ends.
    expect(await kilnAgents()).toEqual([]);
  });

  it('starts one agent for all RUNs of a build', async () => {
    const dockerfile = [
      'FROM scratch',
      'COPY agent-query /agent-query',
      'RUN --mount=type=ssh ["/agent-query"]',
      'RUN --mount=type=ssh ["/agent-query"]',
    ].join('\n');
    // Each RUN's output triggers a check of the running agents while the RUN still has its mount.
    const seen: string[][] = [];
    count += 1;
    const context = path.join(dir, `context-${count}`);
    await mkdir(context, { recursive: true });
    await writeFile(path.join(context, 'Dockerfile'), dockerfile);
    await copyFile(queryBinary, path.join(context, 'agent-query'));
    await build({
      context,
      noPush: true,
      ssh: [parseSshSpec(`default=${key}`)],
      workDir: path.join(dir, 'work'),
      onEvent: (event) => {
        if (event.type === 'step-output' && event.line.startsWith('keys='))
          seen.push(kilnAgentsNow());
      },
    });

    expect(seen).toHaveLength(2);
    expect(seen[0]).toHaveLength(1);
    expect(seen[1]).toEqual(seen[0]);
    expect(await kilnAgents()).toEqual([]);
  });

  it('stops the agent when a later step fails', async () => {
    const failed = await buildWithSsh(
      [
        'FROM scratch',
        'COPY agent-query /agent-query',
        'RUN --mount=type=ssh ["/agent-query"]',
        'RUN ["/missing-command"]',
      ].join('\n'),
      [parseSshSpec(`default=${key}`)],
    ).catch((error: unknown) => error);

    expect(failed).toBeInstanceOf(Error);
    expect(await kilnAgents()).toEqual([]);
  });

  it('forwards a socket with target, mode, uid and gid', async () => {
    const { output } = await buildWithSsh(
      [
        'FROM scratch',
        'COPY agent-query /agent-query',
        'RUN --mount=type=ssh,id=work,target=/tmp/agent.sock,mode=0660,uid=1,gid=2,required=true ["/agent-query"]',
      ].join('\n'),
      [parseSshSpec(`work=${ownSocket}`)],
    );

    expect(output).toContain('socket=/tmp/agent.sock mode=660 uid=1 gid=2');
    expect(output).toContain('keys=2');
    expect(output).toContain('comment=own-agent-key');
  });

  it('uses SSH_AUTH_SOCK for default', async () => {
    const saved = process.env.SSH_AUTH_SOCK;
    process.env.SSH_AUTH_SOCK = ownSocket;
    try {
      const { output } = await buildWithSsh(
        'FROM scratch\nCOPY agent-query /agent-query\nRUN --mount=type=ssh ["/agent-query"]\n',
        [parseSshSpec('default')],
      );
      expect(output).toContain('keys=2');
    } finally {
      if (saved === undefined) delete process.env.SSH_AUTH_SOCK;
      else process.env.SSH_AUTH_SOCK = saved;
    }
  });

  it('skips an optional agent and rejects a required one', async () => {
    const optional = await buildWithSsh(
      'FROM scratch\nCOPY agent-query /agent-query\nRUN --mount=type=ssh,id=none ["/agent-query"]\n',
      [],
    ).catch((error: unknown) => error);
    // Without an agent the mount is left out, SSH_AUTH_SOCK still names its target, and the query fails.
    expect(String(optional)).toContain('exit code 2');

    const required = await buildWithSsh(
      'FROM scratch\nCOPY agent-query /agent-query\nRUN --mount=type=ssh,id=none,required ["/agent-query"]\n',
      [],
    ).catch((error: unknown) => error);
    expect(required).toMatchObject({ code: 'INVALID_OPTION' });
    expect(String(required)).toContain('"none"');
  });
});
