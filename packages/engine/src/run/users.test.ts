import { describe, expect, it } from 'vitest';
import { EngineError } from '../errors.js';
import { resolveIdentity } from './users.js';

const passwd = [
  'root:x:0:0:root:/root:/bin/sh',
  'nobody:x:65534:65534:nobody:/nonexistent:/bin/false',
  'app:x:1000:1000::/home/app:/bin/sh',
].join('\n');
const group = [
  'root:x:0:',
  'wheel:x:10:root,app',
  'nogroup:x:65534:',
  'app:x:1000:',
  'audio:x:29:app',
].join('\n');

describe('resolveIdentity', () => {
  it('defaults to root with its groups', () => {
    expect(resolveIdentity('', passwd, group)).toEqual({
      uid: 0,
      gid: 0,
      groups: [0, 10],
      home: '/root',
    });
  });

  it('resolves a name with supplementary groups', () => {
    expect(resolveIdentity('app', passwd, group)).toEqual({
      uid: 1000,
      gid: 1000,
      groups: [1000, 10, 29],
      home: '/home/app',
    });
  });

  it('uses an explicit group and drops supplementary ones', () => {
    expect(resolveIdentity('app:nogroup', passwd, group).groups).toEqual([65534]);
    expect(resolveIdentity('app:42', passwd, group).gid).toBe(42);
  });

  it('runs an unset user as root without account files', () => {
    expect(resolveIdentity('', '', '')).toEqual({ uid: 0, gid: 0, groups: [0], home: '/' });
  });

  it('accepts a numeric uid missing from passwd with gid 0', () => {
    expect(resolveIdentity('4242', passwd, group)).toEqual({
      uid: 4242,
      gid: 0,
      groups: [0],
      home: '/',
    });
  });

  it('rejects an unknown user name', () => {
    expect(() => resolveIdentity('ghost', passwd, group)).toThrow(EngineError);
    expect(() => resolveIdentity('ghost', passwd, group)).toThrow(/ghost/);
  });

  it('rejects an unknown group name', () => {
    expect(() => resolveIdentity('app:ghosts', passwd, group)).toThrow(/ghosts/);
  });
});
