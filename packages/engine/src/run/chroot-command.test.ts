import { describe, expect, it } from 'vitest';
import { buildChrootCommand } from './chroot-command.js';

const base = {
  rootfs: '/work/root fs',
  argv: ['/bin/sh', '-c', 'echo "$(id)"; rm -rf $HOME'],
  cwd: '/srv',
  uid: 0,
  gid: 0,
  groups: [0, 10],
  env: ['PATH=/bin', 'A=b c'],
  mounts: [
    { kind: 'proc' as const, target: '/proc' },
    { kind: 'bind' as const, source: '/tmp/x y/hosts', target: '/etc/hosts' },
  ],
};

describe('buildChrootCommand', () => {
  it('runs the set-up script in a private mount namespace', () => {
    const spec = buildChrootCommand(base);
    expect(spec.file).toBe('/usr/bin/setpriv');
    expect(spec.args.slice(0, 12)).toEqual([
      '--pdeathsig',
      'KILL',
      '--',
      '/usr/bin/unshare',
      '--mount',
      '--pid',
      '--propagation',
      'private',
      '--fork',
      '--kill-child',
      '--',
      '/bin/sh',
    ]);
    expect(spec.args[12]).toBe('-c');
  });

  it('passes paths and argv as positional arguments, never in the script', () => {
    const spec = buildChrootCommand(base);
    const script = spec.args[13] as string;
    expect(script).not.toContain('root fs');
    expect(script).not.toContain('rm -rf');
    const positional = spec.args.slice(14);
    expect(positional.slice(0, 8)).toEqual([
      'kiln-sandbox',
      '/usr/bin/setpriv',
      '/work/root fs',
      '/srv',
      '0',
      '0',
      '0,10',
      '2',
    ]);
    expect(positional.slice(8, 14)).toEqual([
      'proc',
      '-',
      '/proc',
      'bind',
      '/tmp/x y/hosts',
      '/etc/hosts',
    ]);
  });

  it('sends env on fd 3 and chroots', () => {
    const spec = buildChrootCommand(base);
    expect(spec.envInput).toBe('PATH=/bin\0A=b c\0');
    expect(spec.args.join(' ')).not.toContain('b c');
    const chain = spec.args.slice(28);
    expect(chain.slice(0, 2)).toEqual(['/usr/bin/perl', '-e']);
    expect(chain.slice(3)).toEqual([
      '/usr/bin/unshare',
      '--root=/work/root fs',
      '--wd=/srv',
      '--',
      '/bin/sh',
      '-c',
      'echo "$(id)"; rm -rf $HOME',
    ]);
    expect(spec.env).toEqual({ PATH: expect.stringContaining('/usr/bin') });
  });

  it('switches uid only for a non-root user', () => {
    const spec = buildChrootCommand({ ...base, uid: 1000, gid: 1000, groups: [1000] });
    expect(spec.args).toContain('--setuid=1000');
    expect(buildChrootCommand(base).args.some((arg) => arg.startsWith('--setuid'))).toBe(false);
  });

  it('rejects invalid env entries', () => {
    expect(() => buildChrootCommand({ ...base, env: ['NOVALUE'] })).toThrow(/NOVALUE/);
    expect(() => buildChrootCommand({ ...base, env: ['A=x\0y'] })).toThrow(/"A"/);
  });

  it('rejects an empty argv', () => {
    expect(() => buildChrootCommand({ ...base, argv: [] })).toThrow(/argv/);
  });
});

describe('buildChrootCommand network', () => {
  it('adds a network namespace for network none', () => {
    expect(buildChrootCommand({ ...base, network: 'none' }).args.slice(4, 8)).toEqual([
      '--mount',
      '--pid',
      '--net',
      '--propagation',
    ]);
    expect(buildChrootCommand(base).args).not.toContain('--net');
  });
});
