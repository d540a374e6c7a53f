import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findFreePort, makeTempDir, probeStatus, removeTempDir, requireTool } from '@kiln/testkit';

/** An nginx instance on 127.0.0.1 that stores PUT bodies under `root` (WebDAV module). */
export interface WebDavServer {
  /** `http://127.0.0.1:PORT`. */
  url: string;
  /** Directory the server reads and writes; a PUT of `/a/b` writes `root/a/b`. Under `/read-only/` writes get 403. */
  root: string;
  /** nginx's access log, one line per request: `METHOD PATH STATUS`. */
  accessLogPath: string;
  errorLogPath: string;
  /** Returns the access log lines written so far. */
  requests(): Promise<string[]>;
  stop(): Promise<void>;
}

const START_ATTEMPTS = 3;
const START_TIMEOUT_MS = 10_000;
const POLL_INTERVAL_MS = 50;

function nginxConfig(prefix: string, port: number, root: string): string {
  // Running as root, nginx would switch its workers to `nobody`, which cannot write into a
  // temporary directory owned by root. So the workers keep the test's own user.
  const user = process.getuid?.() === 0 ? `user ${userInfo().username};` : '';
  return `
${user}
daemon off;
master_process on;
worker_processes 1;
pid ${join(prefix, 'nginx.pid')};
error_log ${join(prefix, 'error.log')} info;
events { worker_connections 256; }
http {
  log_format webdav '$request_method $uri $status';
  access_log ${join(prefix, 'access.log')} webdav;
  client_body_temp_path ${join(prefix, 'body')};
  proxy_temp_path ${join(prefix, 'proxy')};
  fastcgi_temp_path ${join(prefix, 'fastcgi')};
  uwsgi_temp_path ${join(prefix, 'uwsgi')};
  scgi_temp_path ${join(prefix, 'scgi')};
  client_max_body_size 0;
  server {
    listen 127.0.0.1:${port};
    root ${root};
    dav_methods PUT DELETE;
    create_full_put_path on;
    dav_access user:rw group:r all:r;
    # A prefix where writes are forbidden, for tests of error statuses.
    location /read-only/ {
      limit_except GET HEAD { deny all; }
    }
  }
}
`;
}

/**
 * Starts Debian's nginx (package `nginx-light`, which has the WebDAV module) on a free port of
 * 127.0.0.1 with its config, logs and storage in a temporary directory.
 */
export async function startWebDavServer(): Promise<WebDavServer> {
  requireTool('nginx', 'nginx-light');
  const prefix = await makeTempDir('nginx-webdav');
  const root = join(prefix, 'root');
  await mkdir(root);
  let lastError: unknown;
  // Another process can take the free port before nginx binds it, so try a few.
  for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
    try {
      return await startOnce(prefix, root);
    } catch (error) {
      lastError = error;
    }
  }
  await removeTempDir(prefix);
  throw lastError;
}

async function startOnce(prefix: string, root: string): Promise<WebDavServer> {
  const port = await findFreePort();
  const configPath = join(prefix, 'nginx.conf');
  await writeFile(configPath, nginxConfig(prefix, port, root));
  const errorLogPath = join(prefix, 'error.log');
  const accessLogPath = join(prefix, 'access.log');

  const stderr = openSync(join(prefix, 'stderr.log'), 'a');
  const child = spawn('nginx', ['-p', prefix, '-c', configPath], {
    stdio: ['ignore', stderr, stderr],
  });
  closeSync(stderr);
  let exited = false;
  const exitedPromise = new Promise<void>((resolveExit) => {
    child.once('exit', () => {
      exited = true;
      resolveExit();
    });
  });

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + START_TIMEOUT_MS;
  // Any HTTP status means nginx is up, because the root of an empty directory returns 403 or 404.
  while ((await probeStatus(`${url}/`)) === undefined) {
    if (exited || Date.now() > deadline) {
      child.kill('SIGKILL');
      const log = await readFile(join(prefix, 'stderr.log'), 'utf8').catch(() => '');
      throw new Error(`nginx did not start on ${url}: ${log.slice(-2000)}`);
    }
    await sleep(POLL_INTERVAL_MS);
  }

  let stopped = false;
  return {
    url,
    root,
    accessLogPath,
    errorLogPath,
    async requests() {
      const text = await readFile(accessLogPath, 'utf8').catch(() => '');
      return text.split('\n').filter((line) => line !== '');
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (!exited) {
        // SIGQUIT is nginx's graceful shutdown; the master stops its workers before it exits.
        child.kill('SIGQUIT');
        await Promise.race([exitedPromise, sleep(5000)]);
        if (!exited) child.kill('SIGKILL');
        await exitedPromise;
      }
      await removeTempDir(prefix);
    },
  };
}
