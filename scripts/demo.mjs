#!/usr/bin/env node
// The README's demo: build examples/hello into an OCI layout with no network beyond 127.0.0.1,
// then print the image digest and what its Cmd prints when run in a chroot of the unpacked image.
// The busybox base comes from Debian's busybox-static, served by a local registry on 127.0.0.1.
import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chrootRun, pushBusybox, startRegistry, umociUnpack } from '@kiln/testkit';

const run = promisify(execFile);
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(repoRoot, '.kiln-demo');
const layoutDir = join(outDir, 'hello-layout');
const digestFile = join(outDir, 'digest');
const kiln = join(repoRoot, 'apps/cli/dist/main.js');

const registry = await startRegistry();
try {
  await rm(outDir, { recursive: true, force: true });
  await pushBusybox(registry);
  const args = [
    kiln,
    'build',
    '--context',
    join(repoRoot, 'examples/hello'),
    '--no-push',
    '--oci-layout-path',
    layoutDir,
    '--digest-file',
    digestFile,
    '--insecure-pull',
    '--registry-map',
    `docker.io=${registry.host}`,
    // Without this, a failed lookup on the local registry would be retried on Docker Hub.
    '--skip-default-registry-fallback',
  ];
  console.log(`$ kiln ${args.slice(1).join(' ')}`);
  const build = await run(process.execPath, args, { cwd: repoRoot, maxBuffer: 64 << 20 });
  process.stderr.write(build.stderr);

  const digest = (await readFile(digestFile, 'utf8')).trim();
  console.log(`image digest: ${digest}`);
  console.log(`OCI layout:   ${layoutDir}`);

  const index = JSON.parse(await readFile(join(layoutDir, 'index.json'), 'utf8'));
  const tag =
    index.manifests.at(-1)?.annotations?.['org.opencontainers.image.ref.name'] ?? 'latest';
  const rootfs = await umociUnpack(layoutDir, tag, join(outDir, 'bundle'));
  const config = JSON.parse(await readFile(join(outDir, 'bundle', 'config.json'), 'utf8'));
  const argv = config.process.args;
  console.log(`$ chroot ${rootfs} ${argv.join(' ')}   (cwd ${config.process.cwd})`);
  const result = await chrootRun(rootfs, argv, {
    cwd: config.process.cwd,
    env: config.process.env,
  });
  process.stdout.write(result.stdout);
  process.stderr.write(result.stderr);
  process.exitCode = result.code;
} finally {
  await registry.stop();
}
