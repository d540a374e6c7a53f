import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Every test's temporary files go under one directory per run, removed at the end, because
// cleanup hooks registered with process.on('exit') do not run inside vitest's workers.
export default function setup(): () => void {
  const runDir = mkdtempSync(join(tmpdir(), 'kiln-test-run-'));
  process.env.TMPDIR = runDir;
  return () => {
    // A mount left under the directory would make a recursive delete reach into what it shows.
    const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
    const leftover = mountinfo.split('\n').some((line) => line.split(' ')[4]?.startsWith(runDir));
    if (leftover) {
      console.warn(`kept ${runDir}: a mount is still under it`);
      return;
    }
    rmSync(runDir, { recursive: true, force: true });
  };
}
