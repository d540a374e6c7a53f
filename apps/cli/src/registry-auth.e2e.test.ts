import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeTempDir, pushBusybox, removeTempDir, startRegistry } from '@kiln/testkit';
import type { TestRegistry } from '@kiln/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runKiln } from './run-kiln.test-support.js';
import type { KilnRun } from './run-kiln.test-support.js';

const USER = 'pusher';
const PASSWORD = 'the-right-one-271';
const WRONG = 'not-the-password-828';

let bases: TestRegistry;
let secured: TestRegistry;
let tmp: string;
let context: string;

beforeAll(async () => {
  bases = await startRegistry();
  await pushBusybox(bases);
  secured = await startRegistry({ htpasswd: { username: USER, password: PASSWORD } });
  tmp = await makeTempDir('kiln-cli-auth-');
  context = path.join(tmp, 'context');
  await mkdir(context, { recursive: true });
  await writeFile(path.join(context, 'Dockerfile'), 'FROM busybox\nRUN echo ran > /ran.txt\n');
});

afterAll(async () => {
  await secured?.stop();
  await bases?.stop();
  if (tmp) await removeTempDir(tmp);
});

/** Writes a docker config holding `auths` and returns its directory. */
async function dockerConfig(name: string, auths: object): Promise<string> {
  const dir = path.join(tmp, name);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'config.json'), JSON.stringify({ auths }));
  return dir;
}

function build(extra: string[], configDir: string): Promise<KilnRun> {
  return runKiln(
    [
      'build',
      '-c',
      context,
      '--destination',
      `${secured.host}/team/app:1`,
      '--insecure-registry',
      secured.host,
      '--insecure-pull',
      '--registry-map',
      `docker.io=${bases.host}`,
      '--push-retry',
      '0',
      '--progress',
      'plain',
      ...extra,
    ],
    path.join(tmp, 'kiln-dir'),
    { DOCKER_CONFIG: configDir },
  );
}

describe('registry credentials in kiln build', () => {
  it('rejected credentials fail before any step', async () => {
    const dir = await dockerConfig('wrong', {
      [secured.host]: { username: USER, password: WRONG },
    });
    const run = await build([], dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`No permission to push to ${secured.host}/team/app`);
    expect(run.stderr).toContain('Credentials found but rejected');
    expect(run.stderr).toContain(path.join(dir, 'config.json'));
    expect(run.stderr).not.toContain(WRONG);
    expect(run.stderr).not.toContain('RUN echo ran');
  });

  it('missing credentials say none were found', async () => {
    const dir = await dockerConfig('none', {});
    const run = await build([], dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`No credentials found for ${secured.host}`);
    expect(run.stderr).toContain(`docker login ${secured.host}`);
  });

  it('skipped check fails at the push with the hint', async () => {
    const dir = await dockerConfig('wrong-late', {
      [secured.host]: { username: USER, password: WRONG },
    });
    const run = await build(['--skip-push-permission-check'], dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('RUN echo ran');
    expect(run.stderr).toContain(`Pushing to ${secured.host}/team/app:1 failed`);
    expect(run.stderr).toContain('Credentials found but rejected');
    expect(run.stderr).not.toContain(WRONG);
  });

  it('right credentials push', async () => {
    const dir = await dockerConfig('right', {
      [secured.host]: { username: USER, password: PASSWORD },
    });
    const run = await build([], dir);
    expect(run.code, run.stderr).toBe(0);
  });
});

describe('registry credentials for base images', () => {
  it('pull without credentials names the config', async () => {
    const reference = await pushBusybox(secured);
    const privateContext = path.join(tmp, 'private-base');
    await mkdir(privateContext, { recursive: true });
    await writeFile(path.join(privateContext, 'Dockerfile'), `FROM ${reference}\n`);
    const dir = await dockerConfig('pull-none', {});
    const run = await runKiln(
      ['build', '-c', privateContext, '--no-push', '--insecure-registry', secured.host],
      path.join(tmp, 'kiln-dir'),
      { DOCKER_CONFIG: dir },
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`No credentials found for ${secured.host}`);
    expect(run.stderr).toContain(path.join(dir, 'config.json'));
  });
});
