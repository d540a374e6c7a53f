import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

const gitEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Kiln Test',
  GIT_AUTHOR_EMAIL: 'test@example.invalid',
  GIT_COMMITTER_NAME: 'Kiln Test',
  GIT_COMMITTER_EMAIL: 'test@example.invalid',
};

/** Runs git with a fixed author, for test repositories. */
export function git(args: string[], cwd: string): string {
  return execFileSync('git', args, { cwd, env: gitEnv, encoding: 'utf8' });
}

/**
 * Creates `<dir>/source` (a work tree on `main` holding Dockerfile and app/main.txt) and
 * `<dir>/repo.git`, a bare clone with a `feature` branch whose app/main.txt differs.
 */
export async function makeGitFixture(dir: string): Promise<{ source: string; bareRepo: string }> {
  const source = path.join(dir, 'source');
  await mkdir(path.join(source, 'app'), { recursive: true });
  await writeFile(path.join(source, 'Dockerfile'), 'FROM scratch\nCOPY . /\n');
  await writeFile(path.join(source, 'app', 'main.txt'), 'main branch\n');
  git(['init', '-q', '-b', 'main', source], dir);
  git(['add', '.'], source);
  git(['commit', '-q', '-m', 'main'], source);
  git(['checkout', '-q', '-b', 'feature'], source);
  await writeFile(path.join(source, 'app', 'main.txt'), 'feature branch\n');
  git(['commit', '-q', '-am', 'feature'], source);
  git(['checkout', '-q', 'main'], source);
  const bareRepo = path.join(dir, 'repo.git');
  git(['clone', '-q', '--bare', source, bareRepo], dir);
  return { source, bareRepo };
}

/** Returns a port that was free on 127.0.0.1 a moment ago. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Waits until something accepts connections on the port, for at most about five seconds. */
export async function waitForPort(port: number): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`git daemon did not listen on 127.0.0.1:${port}`);
}

/** Starts `git daemon` on loopback serving every repository under `baseDir`; stop it by its PID. */
export async function startGitDaemon(
  baseDir: string,
): Promise<{ port: number; daemon: ChildProcess }> {
  const port = await freePort();
  const daemon = spawn(
    'git',
    [
      'daemon',
      '--reuseaddr',
      '--export-all',
      `--base-path=${baseDir}`,
      '--listen=127.0.0.1',
    ].concat([`--port=${port}`, baseDir]),
    { stdio: 'ignore' },
  );
  await waitForPort(port);
  return { port, daemon };
}

/** Creates a bare repository `<dir>/<name>.git` with one commit holding `files`, and returns its work tree. */
async function makeRepository(dir: string, name: string, files: Record<string, string>) {
  const source = path.join(dir, `${name}-source`);
  for (const [file, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(source, file)), { recursive: true });
    await writeFile(path.join(source, file), content);
  }
  git(['init', '-q', '-b', 'main', source], dir);
  git(['add', '.'], source);
  git(['commit', '-q', '-m', name], source);
  return source;
}

/**
 * Adds submodules to the fixture of {@link makeGitFixture}, served by a git daemon on `port`:
 * `lib` (sub.git, holding lib.txt) on its main branch, with `inner` (inner.git, inner.txt) inside.
 */
export async function addSubmodules(dir: string, port: number): Promise<void> {
  const remote = (name: string) => `git://127.0.0.1:${port}/${name}.git`;
  const inner = await makeRepository(dir, 'inner', { 'inner.txt': 'inner module\n' });
  git(['clone', '-q', '--bare', inner, path.join(dir, 'inner.git')], dir);
  const sub = await makeRepository(dir, 'sub', { 'lib.txt': 'lib module\n' });
  git(['submodule', '-q', 'add', remote('inner'), 'inner'], sub);
  git(['commit', '-q', '-m', 'inner'], sub);
  git(['clone', '-q', '--bare', sub, path.join(dir, 'sub.git')], dir);

  const source = path.join(dir, 'source');
  git(['submodule', '-q', 'add', remote('sub'), 'lib'], source);
  git(['commit', '-q', '-m', 'lib'], source);
  git(['push', '-q', path.join(dir, 'repo.git'), 'main'], source);
}
