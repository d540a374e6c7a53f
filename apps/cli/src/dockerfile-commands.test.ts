import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './program.js';

async function cli(args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: {},
  });
  return { code, stdout, stderr };
}

async function dockerfile(text: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'kiln-cli-parse-'));
  const file = path.join(dir, 'Dockerfile');
  await writeFile(file, text);
  return file;
}

describe('kiln parse', () => {
  it('prints the BuildKit dump', async () => {
    const file = await dockerfile('FROM busybox AS base\nRUN echo hi\nCMD ["sh"]\n');
    const run = await cli(['parse', file]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('(from "busybox" "AS" "base")\n(run "echo hi")\n(cmd "sh")\n');
  });

  it('prints typed stages with --json', async () => {
    const file = await dockerfile('FROM busybox AS base\nWORKDIR /app\n');
    const run = await cli(['parse', '--json', file]);
    expect(run.code).toBe(0);
    const document = JSON.parse(run.stdout) as { stages: Array<{ name?: string }> };
    expect(document.stages).toHaveLength(1);
    expect(document.stages[0]?.name).toBe('base');
    expect(run.stdout).toContain('"/app"');
  });

  it('shows the error line with a marker', async () => {
    const file = await dockerfile('FROM busybox\nCOPPY a b\nRUN true\n');
    const run = await cli(['parse', '--json', file]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${file}:2:`);
    expect(run.stderr).toContain('>>> 2 | COPPY a b');
  });

  it('rejects a missing file as a usage error', async () => {
    const run = await cli(['parse', '/nonexistent/Dockerfile']);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      'kiln: Dockerfile /nonexistent/Dockerfile is not found; pass the path of a readable file\n',
    );
  });
});

describe('kiln check', () => {
  it('prints one line per warning and exits 1', async () => {
    const file = await dockerfile('from busybox as Base\nMAINTAINER me\n');
    const run = await cli(['check', file]);
    expect(run.code).toBe(1);
    const lines = run.stdout.trim().split('\n');
    const rules = lines.map((line) => line.split(': ').slice(0, 2).join(': '));
    expect(rules).toContain(`${file}:1: StageNameCasing`);
    expect(rules).toContain(`${file}:2: MaintainerDeprecated`);
  });

  it('exits 0 on a clean file', async () => {
    const file = await dockerfile('FROM busybox\nRUN true\n');
    const run = await cli(['check', file]);
    expect(run.stdout).toBe('');
    expect(run.code).toBe(0);
  });

  it('prints warnings as JSON with --format json', async () => {
    const file = await dockerfile('FROM busybox\nMAINTAINER me\n');
    const run = await cli(['check', '--format', 'json', file]);
    expect(run.code).toBe(1);
    const warnings = JSON.parse(run.stdout) as Array<{ rule: string; url: string }>;
    expect(warnings.map((w) => w.rule)).toEqual(['MaintainerDeprecated']);
    expect(warnings[0]?.url).toMatch(/^https:\/\//);
  });
});
