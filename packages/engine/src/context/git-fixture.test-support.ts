import { execFileSync } from 'node:child_process';
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
