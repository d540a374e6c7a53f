import { execFile } from 'node:child_process';
import { lstat, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promisify } from 'node:util';
import { SshAgentPool, checkSshSource, openSshAgent, parseSshSpec } from './ssh-agent.js';

const exec = promisify(execFile);

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-ssh-agent-test-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('parseSshSpec', () => {
  it.each([
    ['default', { id: 'default', paths: [] }],
    ['default=/run/agent.sock', { id: 'default', paths: ['/run/agent.sock'] }],
    ['deploy=/keys/a,/keys/b', { id: 'deploy', paths: ['/keys/a', '/keys/b'] }],
  ])('reads %s', (text, expected) => {
    expect(parseSshSpec(text)).toEqual(expected);
  });

  it.each(['', '=/path', 'id=', 'id=/a,,/b'])('rejects %j', (text) => {
    expect(() => parseSshSpec(text)).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
  });
});

describe('openSshAgent', () => {
  it('rejects a path that is neither socket nor file', async () => {
    await expect(openSshAgent({ id: 'x', paths: [dir] })).rejects.toMatchObject({
      code: 'SSH_SOURCE_INVALID',
      message: expect.stringContaining('neither a socket nor a key file'),
    });
  });

  it('rejects a missing path', async () => {
    await expect(
      openSshAgent({ id: 'x', paths: [path.join(dir, 'missing')] }),
    ).rejects.toMatchObject({ code: 'SSH_SOURCE_INVALID' });
  });

  it('rejects a file that is not a key', async () => {
    const file = path.join(dir, 'not-a-key');
    await writeFile(file, 'hello\n');
    await expect(openSshAgent({ id: 'x', paths: [file] })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
      message: expect.stringContaining('ssh-add could not load the keys of --ssh x'),
    });
  });
});

describe('checkSshSource', () => {
  it('rejects a missing agent socket', async () => {
    const socket = path.join(dir, 'nonexistent', 'agent.sock');
    await expect(checkSshSource({ id: 'default', paths: [socket] })).rejects.toMatchObject({
      code: 'SSH_SOURCE_INVALID',
      message: `--ssh default: ${socket} does not exist`,
    });
  });

  it('rejects a missing key file among others', async () => {
    const key = path.join(dir, 'present-key');
    await writeFile(key, 'not checked here\n');
    const missing = path.join(dir, 'missing-key');
    await expect(checkSshSource({ id: 'deploy', paths: [key, missing] })).rejects.toMatchObject({
      code: 'SSH_SOURCE_INVALID',
      message: expect.stringContaining(`${missing} does not exist`),
    });
  });

  it('rejects default without SSH_AUTH_SOCK', async () => {
    await expect(checkSshSource({ id: 'default', paths: [] }, {})).rejects.toMatchObject({
      code: 'SSH_SOURCE_INVALID',
      message: expect.stringContaining('SSH_AUTH_SOCK'),
    });
  });

  it('rejects SSH_AUTH_SOCK naming a regular file', async () => {
    const file = path.join(dir, 'plain-file');
    await writeFile(file, '');
    await expect(
      checkSshSource({ id: 'default', paths: [] }, { SSH_AUTH_SOCK: file }),
    ).rejects.toMatchObject({ message: `--ssh default: ${file} is not a socket` });
  });

  it('returns key files without loading them', async () => {
    const key = path.join(dir, 'unchecked-key');
    await writeFile(key, 'contents are checked by ssh-add later\n');
    await expect(checkSshSource({ id: 'deploy', paths: [key] })).resolves.toEqual({
      keyFiles: [key],
    });
  });
});

describe('SshAgentPool', () => {
  it('starts one agent per source until closed', async () => {
    const key = path.join(dir, 'pool-key');
    await exec('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'pool', '-f', key]);
    const pool = new SshAgentPool(dir);
    const source = { id: 'default', paths: [key] };

    const [first, second] = await Promise.all([pool.socket(source), pool.socket(source)]);
    expect(second).toBe(first);
    expect(await pool.socket({ ...source })).toBe(first);
    expect((await lstat(first)).isSocket()).toBe(true);

    await pool.close();
    await expect(lstat(first)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(pool.socket(source)).rejects.toMatchObject({ code: 'BUILD_CANCELLED' });
  });
});
