import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSshAgent, parseSshSpec } from './ssh-agent.js';

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
      code: 'INVALID_OPTION',
      message: expect.stringContaining('neither a socket nor a key file'),
    });
  });

  it('rejects a missing path', async () => {
    await expect(
      openSshAgent({ id: 'x', paths: [path.join(dir, 'missing')] }),
    ).rejects.toMatchObject({ code: 'INVALID_OPTION' });
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
