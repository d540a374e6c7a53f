import type { BuildOptions, BuildResult } from '@kiln/engine';
import { describe, expect, it } from 'vitest';
import { normalizeBooleanFlags } from './flag-values.js';
import { runCli } from './program.js';

const DIGEST = `sha256:${'cd'.repeat(32)}`;

async function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  let stdout = '';
  let stderr = '';
  let options: BuildOptions | undefined;
  const code = await runCli(args, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env,
    build: async (received) => {
      options = received;
      return { digest: DIGEST, outputs: [] } as unknown as BuildResult;
    },
  });
  return { code, stdout, stderr, options };
}

/** Every flag of kaniko's executor, each with a value it accepts (undefined: a boolean flag). */
const KANIKO_FLAGS: Array<[string, string | undefined]> = [
  ['--context', '.'],
  ['--context-sub-path', 'sub'],
  ['--dockerfile', 'Dockerfile'],
  ['--destination', 'registry.example/app:1'],
  ['--build-arg', 'A=1'],
  ['--target', 'final'],
  ['--custom-platform', 'linux/arm64'],
  ['--skip-unused-stages', undefined],
  ['--no-push', undefined],
  ['--tar-path', 'out.tar'],
  ['--oci-layout-path', 'layout'],
  ['--digest-file', 'digest'],
  ['--image-name-with-digest-file', 'names'],
  ['--image-name-tag-with-digest-file', 'tags'],
  ['--label', 'a=b'],
  ['--reproducible', undefined],
  ['--single-snapshot', undefined],
  ['--snapshot-mode', 'redo'],
  ['--ignore-path', '/var/cache'],
  ['--ignore-var-run', undefined],
  ['--cache', undefined],
  ['--cache-repo', 'registry.example/cache'],
  ['--cache-dir', '/cache'],
  ['--cache-ttl', '24h'],
  ['--cache-run-layers', undefined],
  ['--cache-copy-layers', undefined],
  ['--compressed-caching', undefined],
  ['--compression', 'zstd'],
  ['--compression-level', '3'],
  ['--insecure', undefined],
  ['--insecure-pull', undefined],
  ['--insecure-registry', 'registry.example'],
  ['--skip-tls-verify', undefined],
  ['--skip-tls-verify-pull', undefined],
  ['--skip-tls-verify-registry', 'registry.example'],
  ['--registry-certificate', 'registry.example=/certs/ca.pem'],
  ['--registry-client-cert', 'registry.example=/certs/c.pem,/certs/k.pem'],
  ['--registry-mirror', 'mirror.example'],
  ['--registry-map', 'docker.io=mirror.example'],
  ['--skip-default-registry-fallback', undefined],
  ['--push-retry', '2'],
  ['--image-download-retry', '3'],
  ['--image-fs-extract-retry', '1'],
  ['--push-ignore-immutable-tag-errors', undefined],
  ['--skip-push-permission-check', undefined],
  ['--cleanup', undefined],
  ['--verbosity', 'debug'],
  ['--log-format', 'text'],
  ['--log-timestamp', undefined],
];

describe('kaniko executor flags', () => {
  it.each(KANIKO_FLAGS)('accepts %s', async (flag, value) => {
    const args = ['build', '--no-push', flag, ...(value === undefined ? [] : [value])];
    const run = await cli(args);
    expect(run.stderr).not.toContain('kiln:');
    expect(run.code).toBe(0);
  });

  it.each(KANIKO_FLAGS.filter(([, value]) => value === undefined))(
    'accepts %s=true and =false',
    async (flag) => {
      for (const value of ['true', 'false']) {
        const run = await cli(['build', '--no-push', `${flag}=${value}`]);
        expect(run.stderr).not.toContain('kiln:');
        expect(run.code).toBe(0);
      }
    },
  );

  it('lists every flag in build --help', async () => {
    const run = await cli(['build', '--help']);
    for (const [flag] of KANIKO_FLAGS) expect(run.stdout).toContain(flag);
    for (const flag of ['--isolation', '--progress', '--metadata-file', '--platform']) {
      expect(run.stdout).toContain(flag);
    }
  });
});

describe('kaniko flag meanings', () => {
  it('maps registry flags to client settings', async () => {
    const run = await cli(
      [
        'build',
        '--no-push',
        '--skip-tls-verify',
        '--skip-tls-verify-registry',
        'a.example',
        '--registry-certificate',
        'a.example=/ca.pem',
        '--registry-client-cert',
        'b.example=/c.pem,/k.pem',
        '--registry-mirror',
        'm2.example',
        '--skip-default-registry-fallback',
        '--push-retry',
        '2',
        '--image-download-retry',
        '4',
      ],
      { KILN_REGISTRY_MIRROR: 'm1.example;m1b.example' },
    );
    expect(run.code).toBe(0);
    expect(run.options?.registry).toEqual({
      skipTlsVerify: ['a.example'],
      skipTlsVerifyPull: false,
      skipTlsVerifyPush: true,
      registryCertificates: { 'a.example': '/ca.pem' },
      registryClientCerts: { 'b.example': { cert: '/c.pem', key: '/k.pem' } },
      registryMirrors: ['m1.example', 'm1b.example', 'm2.example'],
      skipDefaultRegistryFallback: true,
      pushRetries: 2,
      pullRetries: 4,
    });
  });

  it('reads DOCKER_CONFIG from the CLI environment', async () => {
    const run = await cli(['build', '--no-push'], { DOCKER_CONFIG: '/etc/kiln-docker' });
    expect(run.options?.registry?.dockerConfigDir).toBe('/etc/kiln-docker');
  });

  it('maps snapshot and push flags to build options', async () => {
    const defaults = await cli(['build', '--no-push']);
    expect(defaults.options?.singleSnapshot).toBe(false);
    expect(defaults.options?.snapshotMode).toBe('full');
    expect(defaults.options?.checkPushPermission).toBe(true);
    expect(defaults.options?.pushIgnoreImmutableTagErrors).toBe(false);

    const set = await cli([
      'build',
      '--no-push',
      '--single-snapshot',
      '--snapshot-mode=time',
      '--skip-push-permission-check',
      '--push-ignore-immutable-tag-errors',
    ]);
    expect(set.options?.singleSnapshot).toBe(true);
    expect(set.options?.snapshotMode).toBe('time');
    expect(set.options?.checkPushPermission).toBe(false);
    expect(set.options?.pushIgnoreImmutableTagErrors).toBe(true);
  });

  it('passes --context-sub-path beside the context', async () => {
    const run = await cli(['build', '--no-push', '-c', 'ctx', '--context-sub-path', 'app/web']);
    expect(run.options?.context).toBe('ctx');
    expect(run.options?.contextSubPath).toBe('app/web');
  });

  it('takes --platform as --custom-platform', async () => {
    const run = await cli(['build', '--no-push', '--platform', 'linux/arm/v7']);
    expect(run.options?.platform).toBe('linux/arm/v7');
  });

  it('turns --no-push=false back into a push', async () => {
    const run = await cli(['build', '--no-push=false']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('no --destination given');
  });
});

describe('kaniko flag errors', () => {
  const cases: Array<[string[], string]> = [
    [['--push-retry', 'two'], 'invalid --push-retry value "two"'],
    [['--image-download-retry', '-1'], 'invalid --image-download-retry value "-1"'],
    [['--registry-client-cert', 'a.example=/c.pem'], 'HOST=CERT_FILE,KEY_FILE'],
    [['--registry-certificate', '/ca.pem'], 'invalid --registry-certificate value'],
    [['--context-sub-path', '../up'], 'invalid --context-sub-path "../up"'],
    [['--platform', 'linux/amd64', '--custom-platform', 'linux/arm64'], 'pass only one'],
    [['--snapshot-mode', 'fast'], '--snapshot-mode'],
    [['--progress', 'fancy'], '--progress'],
    [['--force'], '--force applies only to --isolation=none'],
    [['--image-fs-extract-retry', 'x'], 'invalid --image-fs-extract-retry value "x"'],
    [['--registry-map', 'docker.io='], 'no target registry after "="'],
    [['-d', '127.0.0.1:5000/x/y:bad$tag!'], 'invalid --destination "127.0.0.1:5000/x/y:bad$tag!"'],
    [['-d', '127.0.0.1:5000/Team/App:1'], 'invalid --destination "127.0.0.1:5000/Team/App:1"'],
  ];
  it.each(cases)('rejects %j on one line', async (args, message) => {
    const run = await cli(['build', '--no-push', ...args]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.options).toBeUndefined();
  });
});

describe('normalizeBooleanFlags', () => {
  const options = [
    { long: '--cache', required: false, optional: false },
    { long: '--ignore-var-run', required: false, optional: false },
    { long: '--no-ignore-var-run', required: false, optional: false },
    { long: '--no-push', required: false, optional: false },
    { long: '--target', required: true, optional: false },
  ];

  it('rewrites =true and =false', () => {
    expect(
      normalizeBooleanFlags(
        ['--cache=true', '--cache=false', '--ignore-var-run=false', '--no-push=true'],
        options,
      ),
    ).toEqual(['--cache', '--no-ignore-var-run', '--no-push']);
  });

  it('leaves value flags and arguments after -- alone', () => {
    expect(normalizeBooleanFlags(['--target=true', '--', '--cache=true'], options)).toEqual([
      '--target=true',
      '--',
      '--cache=true',
    ]);
  });
});

describe('kiln --help', () => {
  it('lists the build flags with defaults', async () => {
    const run = await cli(['--help']);
    expect(run.code).toBe(0);
    for (const [flag] of KANIKO_FLAGS) expect(run.stdout).toContain(flag);
    expect(run.stdout).toContain('(choices: "auto", "tty", "plain", "json", default: "auto")');
  });
});
