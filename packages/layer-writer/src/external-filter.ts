import { spawn } from 'node:child_process';
import { Duplex } from 'node:stream';

import { LayerError } from './errors.js';

/** A child process used as a stream filter: stdin in, stdout out. */
export interface ExternalFilter {
  stream: Duplex;
  /** Settles when the process has exited; rejects on a spawn failure or a non-zero exit. */
  exited: Promise<void>;
}

/**
 * Runs `command args` as a filter. Its stderr is kept (the last 4 KiB) for the error message.
 * `aptPackage` names what to install when the command is missing.
 */
export function spawnFilter(command: string, args: string[], aptPackage: string): ExternalFilter {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => {
    stderr = (stderr + text).slice(-4096);
  });

  const stream = Duplex.from({ writable: child.stdin, readable: child.stdout });
  const exited = new Promise<void>((resolve, reject) => {
    child.on('error', (error: NodeJS.ErrnoException) => {
      const missing = error.code === 'ENOENT';
      reject(
        new LayerError(
          'TOOL_FAILED',
          missing ? `${command} is not installed` : `cannot run ${command}: ${error.message}`,
          {
            hint: missing
              ? `Install the ${aptPackage} package (apt-get install ${aptPackage}).`
              : undefined,
            cause: error,
          },
        ),
      );
    });
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else {
        const how =
          signal !== null ? `was killed by ${signal}` : `exited with code ${String(code)}`;
        reject(
          new LayerError('TOOL_FAILED', `${command} ${args.join(' ')} ${how}: ${stderr.trim()}`),
        );
      }
    });
  });
  exited.catch(() => undefined);
  // A failed process must fail the pipeline, not leave it waiting for an end that never comes.
  exited.catch((error: unknown) => stream.destroy(error as Error));
  return { stream, exited };
}

/** Starts `zstd` compressing at `level` on all cores. */
export function zstdCompressor(level: number): ExternalFilter {
  const args = ['-q', '-c', '-T0', `-${level}`];
  if (level > 19) args.unshift('--ultra');
  return spawnFilter('zstd', args, 'zstd');
}

/** Starts `zstd -d` decompressing. */
export function zstdDecompressor(): ExternalFilter {
  return spawnFilter('zstd', ['-q', '-d', '-c'], 'zstd');
}
