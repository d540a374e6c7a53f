import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode, buildExitCode } from './build-exit-code.js';
import { runKiln } from './run-kiln.test-support.js';

let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'kiln-exit-codes-'));
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function context(name: string, dockerfile: string | undefined): Promise<string> {
  const dir = path.join(tmp, name);
  await mkdir(dir, { recursive: true });
  if (dockerfile !== undefined) await writeFile(path.join(dir, 'Dockerfile'), dockerfile);
  return dir;
}

// Each case fails before any base image is pulled, so no registry is needed.
const kiln = (args: string[]) => runKiln(['build', '--no-push', ...args], path.join(tmp, 'kiln'));

describe('kiln build exit codes', () => {
  it('missing context exits 2', async () => {
    const run = await kiln(['-c', path.join(tmp, 'does-not-exist')]);
    expect(run.code).toBe(ExitCode.UsageError);
    expect(run.stderr).toContain('does-not-exist');
  });

  it('context without Dockerfile exits 2', async () => {
    const run = await kiln(['-c', await context('empty', undefined)]);
    expect(run.code).toBe(ExitCode.UsageError);
    expect(run.stderr).toContain('Dockerfile not found');
  });

  it('missing --dockerfile exits 2', async () => {
    const dir = await context('with-dockerfile', 'FROM scratch\n');
    const run = await kiln(['-c', dir, '-f', path.join(tmp, 'missing.Dockerfile')]);
    expect(run.code).toBe(ExitCode.UsageError);
    expect(run.stderr).toContain('missing.Dockerfile');
  });

  it('unknown --target exits 2', async () => {
    const dir = await context('stages', 'FROM scratch AS base\nFROM base AS app\n');
    const run = await kiln(['-c', dir, '--target', 'nosuch']);
    expect(run.code).toBe(ExitCode.UsageError);
    expect(run.stderr).toContain('target stage "nosuch" could not be found');
    expect(run.stderr).toContain('base, app');
  });

  it('missing --ssh socket exits 2 before any step', async () => {
    // The RUN would fail at once with exit 1 if the check came only when the RUN is reached.
    const dir = await context('ssh', 'FROM scratch\nRUN --mount=type=ssh true\n');
    const socket = path.join(tmp, 'nonexistent', 'agent.sock');
    const run = await kiln(['-c', dir, '--ssh', `default=${socket}`]);
    expect(run.code).toBe(ExitCode.UsageError);
    expect(run.stderr).toContain(`--ssh default: ${socket} does not exist`);
    expect(run.stderr).not.toContain('RUN');
  });

  it('missing --ssh key file exits 2', async () => {
    const dir = await context('ssh-key', 'FROM scratch\n');
    const key = path.join(tmp, 'missing_ed25519');
    const run = await kiln(['-c', dir, '--ssh', `deploy=${key}`]);
    expect(run.code).toBe(ExitCode.UsageError);
    expect(run.stderr).toContain(`${key} does not exist`);
  });

  it('unknown COPY --from stage exits 1', async () => {
    const dir = await context('bad-from', 'FROM scratch\nCOPY --from=7 /a /a\n');
    const run = await kiln(['-c', dir]);
    expect(run.code).toBe(ExitCode.BuildError);
    expect(run.stderr).toContain('invalid stage index 7');
  });
});

describe('buildExitCode', () => {
  it.each([
    [{ code: 'BUILD_CANCELLED' }, ExitCode.Interrupted],
    [{ code: 'CONTEXT_NOT_FOUND' }, ExitCode.UsageError],
    [{ code: 'DOCKERFILE_NOT_FOUND' }, ExitCode.UsageError],
    [{ code: 'SSH_SOURCE_INVALID' }, ExitCode.UsageError],
    [{ code: 'RUN_FAILED' }, ExitCode.BuildError],
    [{ code: 'PUSH_FAILED' }, ExitCode.BuildError],
    [new Error('plain'), ExitCode.BuildError],
    [undefined, ExitCode.BuildError],
  ])('maps %o to %i', (error, expected) => {
    expect(buildExitCode(error)).toBe(expected);
  });
});
