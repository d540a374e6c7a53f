import type { BuildOptions, BuildResult } from '@kiln/engine';
import { describe, expect, it } from 'vitest';
import { runCli } from './program.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  options: BuildOptions | undefined;
}

async function cli(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; fail?: Error } = {},
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  let received: BuildOptions | undefined;
  const code = await runCli(args, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: options.env ?? {},
    build: async (buildOptions) => {
      received = buildOptions;
      if (options.fail) throw options.fail;
      return { digest: DIGEST } as BuildResult;
    },
  });
  return { code, stdout, stderr, options: received };
}

describe('kiln build flag errors', () => {
  it('rejects an unknown flag with a suggestion', async () => {
    const run = await cli(['build', '--destinaton', 'x']);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain("unknown option '--destinaton'");
    expect(run.stderr).toContain('--destination');
    expect(run.stderr).toContain('kiln build --help');
    expect(run.options).toBeUndefined();
  });

  it('rejects a bad boolean flag value', async () => {
    const run = await cli(['build', '--no-push', '--single-snapshot=maybe']);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      'kiln: invalid --single-snapshot value "maybe"; give --single-snapshot=true or --single-snapshot=false, or --single-snapshot alone for true\n',
    );
    expect(run.options).toBeUndefined();
  });

  it('names the choices of a bad value', async () => {
    const run = await cli(['build', '--no-push', '--snapshot-mode=fast']);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      'kiln: invalid --snapshot-mode value "fast"; give one of full, redo, time\n',
    );
  });

  it('rejects a flag without its value', async () => {
    const run = await cli(['build', '--no-push', '--target']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--target');
  });

  it('requires a destination unless --no-push', async () => {
    const run = await cli(['build']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--no-push');
  });

  it('rejects malformed key=value flags', async () => {
    for (const args of [
      ['--registry-map', 'docker.io'],
      ['--label', '=x'],
    ]) {
      const run = await cli(['build', '--no-push', ...args]);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toContain(`${args[0]} KEY=VALUE`);
    }
  });

  it('rejects an unknown verbosity', async () => {
    const run = await cli(['build', '--no-push', '--verbosity', 'loud']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('loud');
  });

  it('rejects a malformed platform', async () => {
    const run = await cli(['build', '--no-push', '--custom-platform', 'linux']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('OS/ARCH');
  });

  it('rejects a compression level out of range', async () => {
    const run = await cli([
      'build',
      '--no-push',
      '--compression',
      'gzip',
      '--compression-level',
      '12',
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('from 0 to 9');
    const zstd = await cli([
      'build',
      '--no-push',
      '--compression',
      'zstd',
      '--compression-level',
      '12',
    ]);
    expect(zstd.code).toBe(0);
    expect(zstd.options).toMatchObject({ compression: 'zstd', compressionLevel: 12 });
  });

  it('parses secrets and rejects malformed ones', async () => {
    const run = await cli([
      'build',
      '--no-push',
      '--secret',
      'id=a,src=/tmp/a',
      '--secret',
      'id=b,env=B',
    ]);
    expect(run.options?.secrets).toEqual({ a: { src: '/tmp/a' }, b: { env: 'B' } });
    for (const bad of ['src=/tmp/a', 'id=a', 'id=a,src=x,env=y', 'id']) {
      const failed = await cli(['build', '--no-push', '--secret', bad]);
      expect(failed.code, bad).toBe(2);
      expect(failed.stderr).toContain('--secret');
    }
  });

  it('rejects an unknown command', async () => {
    const run = await cli(['bild']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('bild');
  });
});

describe('kiln build options', () => {
  it('maps flags to engine options', async () => {
    const run = await cli(
      [
        'build',
        '-c',
        'ctx',
        '-f',
        'ctx/Dockerfile.dev',
        '-d',
        'r.example/a:1',
        '-d',
        'r.example/a:2',
        '--build-arg',
        'A=1',
        '--build-arg',
        'FROM_ENV',
        '--build-arg',
        'UNSET',
        '--target',
        'final',
        '--insecure',
        '--insecure-registry',
        'r.example',
        '--registry-map',
        'docker.io=127.0.0.1:5000',
        '--label',
        'team=x',
        '--reproducible',
        '--custom-platform',
        'linux/arm64/v8',
        '--tar-path',
        'out.tar',
        '--oci-layout-path',
        'layout',
        '--digest-file',
        'digest',
        '--image-name-with-digest-file',
        'names',
        '--image-name-tag-with-digest-file',
        'tags',
        '--ignore-path',
        '/var/cache',
      ],
      {
        env: {
          FROM_ENV: 'e',
          KILN_DIR: '/var/kiln',
          KILN_REGISTRY_MAP: 'quay.io=127.0.0.1:6000;docker.io=mirror:1',
        },
      },
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.options).toMatchObject({
      context: 'ctx',
      dockerfile: 'ctx/Dockerfile.dev',
      destinations: ['r.example/a:1', 'r.example/a:2'],
      buildArgs: { A: '1', FROM_ENV: 'e' },
      target: 'final',
      noPush: false,
      insecure: true,
      insecurePull: false,
      insecureRegistries: ['r.example'],
      registryMap: { 'quay.io': ['127.0.0.1:6000'], 'docker.io': ['mirror:1', '127.0.0.1:5000'] },
      labels: { team: 'x' },
      reproducible: true,
      platform: 'linux/arm64/v8',
      tarPath: 'out.tar',
      ociLayoutPath: 'layout',
      digestFile: 'digest',
      imageNameWithDigestFile: 'names',
      imageNameTagWithDigestFile: 'tags',
      ignorePaths: ['/var/cache'],
      workDir: '/var/kiln',
    });
    expect(run.options?.buildArgs).not.toHaveProperty('UNSET');
  });

  it('honours KILN_NO_PUSH', async () => {
    const run = await cli(['build'], { env: { KILN_NO_PUSH: 'true' } });
    expect(run.code).toBe(0);
    expect(run.options?.noPush).toBe(true);
  });

  it('ends with a line naming the digest', async () => {
    const run = await cli(['build', '--no-push']);
    expect(run.stdout.trim().split('\n').at(-1)).toBe(`Built image ${DIGEST}`);
  });
});

describe('kiln build failures', () => {
  const failure = Object.assign(new Error('RUN false failed with exit code 1'), {
    hint: 'Fix the command.',
  });

  it('prints message and hint and exits 1', async () => {
    const run = await cli(['build', '--no-push'], { fail: failure });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('kiln: error: RUN false failed with exit code 1');
    expect(run.stderr).toContain('hint: Fix the command.');
    expect(run.stderr).not.toContain('    at ');
  });

  it('exits 130 when cancelled', async () => {
    const cancelled = Object.assign(new Error('The build was cancelled'), {
      code: 'BUILD_CANCELLED',
    });
    const run = await cli(['build', '--no-push'], { fail: cancelled });
    expect(run.code).toBe(130);
  });

  it('adds the stack at debug verbosity', async () => {
    const run = await cli(['build', '--no-push', '--verbosity=debug'], { fail: failure });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('    at ');
  });
});

describe('kiln help', () => {
  it('lists every build flag with defaults', async () => {
    const run = await cli(['build', '--help']);
    expect(run.code).toBe(0);
    for (const flag of [
      '--context',
      '--dockerfile',
      '--destination',
      '--build-arg',
      '--target',
      '--no-push',
      '--tar-path',
      '--oci-layout-path',
      '--digest-file',
      '--image-name-with-digest-file',
      '--image-name-tag-with-digest-file',
      '--ignore-path',
      '--secret',
      '--compression',
      '--compression-level',
      '--insecure',
      '--insecure-pull',
      '--insecure-registry',
      '--skip-tls-verify',
      '--registry-map',
      '--reproducible',
      '--custom-platform',
      '--verbosity',
      '--label',
    ]) {
      expect(run.stdout).toContain(flag);
    }
    expect(run.stdout).toContain('(default: ".")');
    expect(run.stdout).toContain('default: "info"');
  });

  it('lists the build command at the top level', async () => {
    const run = await cli(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('build');
  });
});
