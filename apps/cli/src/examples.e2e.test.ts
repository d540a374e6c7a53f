import { execFile } from 'node:child_process';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  makeTempDir,
  pushBusybox,
  removeTempDir,
  skopeoInspect,
  startRegistry,
} from '@kiln/testkit';
import type { TestRegistry } from '@kiln/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runKiln } from './run-kiln.test-support.js';
import type { KilnRun } from './run-kiln.test-support.js';

// Builds with the exact kiln arguments of examples/kubernetes and examples/ci. Their registries
// become a local one with basic auth, and their credential files are written the way each
// example writes them.

const execFileAsync = promisify(execFile);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const USER = 'ci-user';
const PASSWORD = 'ci-password-314';

let bases: TestRegistry;
let secured: TestRegistry;
let tmp: string;

beforeAll(async () => {
  bases = await startRegistry();
  await pushBusybox(bases);
  secured = await startRegistry({ htpasswd: { username: USER, password: PASSWORD } });
  tmp = await makeTempDir('kiln-examples-');
});

afterAll(async () => {
  await secured?.stop();
  await bases?.stop();
  if (tmp) await removeTempDir(tmp);
});

/** Creates a build context with a Dockerfile that pulls, copies and runs. */
async function writeContext(name: string): Promise<string> {
  const context = path.join(tmp, name);
  await mkdir(context, { recursive: true });
  await writeFile(
    path.join(context, 'Dockerfile'),
    'FROM busybox\nCOPY hello.txt /hello.txt\nRUN cat /hello.txt > /copied.txt\n',
  );
  await writeFile(path.join(context, 'hello.txt'), `hello from ${name}\n`);
  return context;
}

/** Runs a shell script with `sh -c` and returns its standard output. */
async function sh(script: string, env: Record<string, string>): Promise<string> {
  const { stdout } = await execFileAsync('sh', ['-c', script], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
  });
  return stdout;
}

/**
 * Returns the argv that the shell passes to `program` in `script`, by running the script with
 * `program` replaced by a printf of its arguments.
 */
async function argvOf(
  script: string,
  program: string,
  env: Record<string, string>,
): Promise<string[]> {
  expect(script).toContain(program);
  const printed = await sh(script.replace(program, "printf '%s\\0'"), env);
  return printed.split('\0').slice(0, -1);
}

/** Flags that the examples leave out because their registries use HTTPS: local ones do not. */
function localRegistryFlags(): string[] {
  return ['--insecure-registry', secured.host, '--insecure-registry', bases.host];
}

/** Runs kiln with the base images mapped to the local registry through KILN_REGISTRY_MAP. */
function kiln(args: string[], env: { DOCKER_CONFIG: string }): Promise<KilnRun> {
  return runKiln([...args, ...localRegistryFlags()], path.join(tmp, 'kiln-dir'), {
    ...env,
    KILN_REGISTRY_MAP: `docker.io=${bases.host}`,
  });
}

function lastDigest(run: KilnRun): string {
  const match = /sha256:[0-9a-f]{64}/.exec(run.stdout.trim().split('\n').at(-1) ?? '');
  expect(match, `no digest in: ${run.stdout}\n${run.stderr}`).not.toBeNull();
  return (match as RegExpExecArray)[0];
}

async function pushedDigest(reference: string): Promise<string> {
  const inspected = (await skopeoInspect(reference, { creds: `${USER}:${PASSWORD}` })) as {
    Digest: string;
  };
  return inspected.Digest;
}

describe('examples/kubernetes/kiln-job.yaml', () => {
  it('Job args build and push', async () => {
    const job = parse(
      await readFile(path.join(repoRoot, 'examples/kubernetes/kiln-job.yaml'), 'utf8'),
    ) as {
      spec: { template: { spec: { containers: Array<{ name: string; args: string[] }> } } };
    };
    const container = job.spec.template.spec.containers.find((c) => c.name === 'kiln');
    const args = container?.args ?? [];
    expect(args).toContain('--destination=registry.example.com/team/app:latest');

    // The workspace volume is the context, and the Secret's config.json is the docker config.
    const context = await writeContext('kubernetes');
    const dockerConfig = path.join(tmp, 'kubernetes-docker');
    await mkdir(dockerConfig, { recursive: true });
    const auth = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');
    await writeFile(
      path.join(dockerConfig, 'config.json'),
      JSON.stringify({ auths: { [secured.host]: { auth } } }),
    );
    const local = args.map((arg) =>
      arg.replaceAll('/workspace', context).replaceAll('registry.example.com', secured.host),
    );

    const run = await kiln(['build', ...local], { DOCKER_CONFIG: dockerConfig });
    expect(run.code, run.stderr).toBe(0);
    expect(await pushedDigest(`${secured.host}/team/app:latest`)).toBe(lastDigest(run));
    // --cache-repo stored the RUN layer in the cache repository.
    const tags = await fetch(`http://${secured.host}/v2/team/app/cache/tags/list`, {
      headers: { authorization: `Basic ${auth}` },
    });
    expect(tags.status).toBe(200);
    expect(((await tags.json()) as { tags: string[] }).tags.length).toBeGreaterThan(0);
  });
});

describe('examples/ci/github-actions.yml', () => {
  it('build step builds and pushes', async () => {
    const workflow = parse(
      await readFile(path.join(repoRoot, 'examples/ci/github-actions.yml'), 'utf8'),
    ) as { jobs: { build: { steps: Array<{ name?: string; run?: string }> } } };
    const steps = workflow.jobs.build.steps;
    const credentials = steps.find((step) => step.name === 'Write the registry credentials');
    const buildStep = steps.find((step) => step.name === 'Build and push with kiln');
    expect(credentials?.run).toBeDefined();
    expect(buildStep?.run).toBeDefined();

    const expressions: Record<string, string> = {
      'github.actor': USER,
      'secrets.GITHUB_TOKEN': PASSWORD,
      'github.repository_owner': 'team',
      'github.repository': 'team/app',
      'github.sha': '0123abcd',
    };
    const localize = (script: string): string =>
      script
        .replace(/\$\{\{\s*([\w.]+)\s*\}\}/g, (_, name: string) => {
          expect(expressions[name], `unknown expression ${name}`).toBeDefined();
          return expressions[name] as string;
        })
        .replaceAll('ghcr.io', secured.host);
    const env = { RUNNER_TEMP: path.join(tmp, 'runner'), GITHUB_WORKSPACE: '' };
    await mkdir(env.RUNNER_TEMP, { recursive: true });
    env.GITHUB_WORKSPACE = await writeContext('github');

    // The step writes config.json itself, so kiln must read what it writes.
    await sh(localize(credentials?.run ?? ''), env);
    const docker = await argvOf(localize(buildStep?.run ?? ''), 'docker run', env);

    // `docker run OPTIONS IMAGE ARGS`: the image's entrypoint is `kiln build`, and each -v maps
    // a host directory to the path that ARGS name.
    const image = docker.findIndex((arg) => arg.endsWith('/kiln-executor:latest'));
    expect(image).toBeGreaterThan(0);
    const volumes = docker
      .flatMap((arg, index) => (docker[index - 1] === '-v' ? [arg.split(':')] : []))
      .map(([host, container]) => [container as string, host as string] as const);
    const dockerConfig = volumes.find(([container]) => container === '/kiln/.docker')?.[1];
    expect(dockerConfig).toBe(path.join(env.RUNNER_TEMP, 'docker'));
    const args = docker
      .slice(image + 1)
      .map((arg) =>
        volumes.reduce((text, [container, host]) => text.replaceAll(container, host), arg),
      );

    const run = await kiln(['build', ...args], { DOCKER_CONFIG: dockerConfig ?? '' });
    expect(run.code, run.stderr).toBe(0);
    expect(await pushedDigest(`${secured.host}/team/app:0123abcd`)).toBe(lastDigest(run));
  });
});

describe('examples/ci/gitlab-ci.yml', () => {
  it('job script builds and pushes', async () => {
    const pipeline = parse(
      await readFile(path.join(repoRoot, 'examples/ci/gitlab-ci.yml'), 'utf8'),
    ) as { build: { script: string[]; artifacts: { paths: string[] } } };
    const dockerDir = path.join(tmp, 'gitlab-docker');
    const script = pipeline.build.script.map((line) => line.replaceAll('/kiln/.docker', dockerDir));
    const context = await writeContext('gitlab');
    const env = {
      CI_PROJECT_DIR: context,
      CI_REGISTRY: secured.host,
      CI_REGISTRY_USER: USER,
      CI_REGISTRY_PASSWORD: PASSWORD,
      CI_REGISTRY_IMAGE: `${secured.host}/team/app`,
      CI_COMMIT_SHORT_SHA: '4567ef',
    };
    const kilnLine = script.findIndex((line) => line.includes('/kiln/bin/kiln'));
    expect(kilnLine).toBeGreaterThan(0);
    for (const line of script.slice(0, kilnLine)) await sh(line, env);
    const argv = await argvOf(script[kilnLine] as string, '/kiln/bin/kiln', env);

    // GitLab runs the script in the project directory, where the relative outputs land.
    const cwd = process.cwd();
    process.chdir(context);
    let run: KilnRun;
    try {
      run = await kiln(argv, { DOCKER_CONFIG: dockerDir });
    } finally {
      process.chdir(cwd);
    }
    expect(run.code, run.stderr).toBe(0);
    const digest = lastDigest(run);
    expect(await pushedDigest(`${secured.host}/team/app:4567ef`)).toBe(digest);
    for (const artifact of pipeline.build.artifacts.paths)
      expect((await stat(path.join(context, artifact))).isFile()).toBe(true);
    expect(await readFile(path.join(context, 'kiln-digest.txt'), 'utf8')).toBe(digest);
  });
});
