import { describe, expect, it } from 'vitest';

import { networkFailureLine, retryOnNetworkFailure, scheduleCases } from './schedule.mjs';

interface TestCase {
  name: string;
  parent?: { case: string; buildArg: string };
  estimateSeconds: number;
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('networkFailureLine', () => {
  it('finds an apt fetch failure', () => {
    const output =
      'Get:1 http://deb.debian.org/debian bookworm/main amd64 tree\n' +
      'E: Failed to fetch http://deb.debian.org/debian/pool/main/t/tree/tree.deb  Connection timed out [IP: 1.2.3.4 80]\n' +
      'E: Unable to fetch some archives, maybe run apt-get update\n';
    expect(networkFailureLine(output)).toBe(
      'E: Failed to fetch http://deb.debian.org/debian/pool/main/t/tree/tree.deb  Connection timed out [IP: 1.2.3.4 80]',
    );
  });

  it('finds an npm network error', () => {
    expect(networkFailureLine('npm error code ECONNRESET\nnpm error network aborted')).toBe(
      'npm error code ECONNRESET',
    );
  });

  it('ignores a failing command', () => {
    expect(networkFailureLine('E: Unable to locate package nodejs-missing')).toBeUndefined();
    expect(networkFailureLine('/bin/sh: 1: gcc: not found')).toBeUndefined();
  });
});

describe('retryOnNetworkFailure', () => {
  it('runs again once after a network failure', async () => {
    const retries: string[] = [];
    let attempts = 0;
    const value = await retryOnNetworkFailure(
      async () => {
        attempts += 1;
        if (attempts === 1) {
          throw Object.assign(new Error('build failed'), {
            output: 'W: Temporary failure resolving deb.debian.org',
          });
        }
        return 'built';
      },
      (line: string) => retries.push(line),
    );
    expect(value).toBe('built');
    expect(attempts).toBe(2);
    expect(retries).toEqual(['W: Temporary failure resolving deb.debian.org']);
  });

  it('keeps the second failure', async () => {
    let attempts = 0;
    const build = async () => {
      attempts += 1;
      throw new Error(`attempt ${attempts}: Could not resolve deb.debian.org`);
    };
    await expect(retryOnNetworkFailure(build, () => {})).rejects.toThrow('attempt 2');
    expect(attempts).toBe(2);
  });

  it('does not retry other failures', async () => {
    let attempts = 0;
    const build = async () => {
      attempts += 1;
      throw new Error('COPY failed: missing.txt not found');
    };
    await expect(retryOnNetworkFailure(build, () => {})).rejects.toThrow('missing.txt');
    expect(attempts).toBe(1);
  });
});

describe('scheduleCases', () => {
  it('starts long cases first within the limit', async () => {
    const cases: TestCase[] = [
      { name: 'short', estimateSeconds: 1 },
      { name: 'long', estimateSeconds: 100 },
      { name: 'middle', estimateSeconds: 10 },
    ];
    const started: string[] = [];
    let running = 0;
    let maxRunning = 0;
    const outcomes = scheduleCases(
      cases,
      async (c: TestCase) => {
        started.push(c.name);
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        await tick();
        running -= 1;
        return c.name.toUpperCase();
      },
      { concurrency: 2, estimate: (c: TestCase) => c.estimateSeconds },
    );
    expect(await outcomes.get('short')).toEqual({ value: 'SHORT' });
    expect(started).toEqual(['long', 'middle', 'short']);
    expect(maxRunning).toBe(2);
  });

  it('starts a child after its parent settles', async () => {
    const cases: TestCase[] = [
      { name: 'child', parent: { case: 'base', buildArg: 'BASE' }, estimateSeconds: 50 },
      { name: 'base', estimateSeconds: 1 },
      { name: 'other', estimateSeconds: 20 },
    ];
    const events: string[] = [];
    const outcomes = scheduleCases(
      cases,
      async (c: TestCase) => {
        events.push(`start ${c.name}`);
        await tick();
        events.push(`end ${c.name}`);
        if (c.name === 'base') throw new Error('base failed');
      },
      { concurrency: 3, estimate: (c: TestCase) => c.estimateSeconds },
    );
    const base = await outcomes.get('base');
    expect(String(base?.error)).toContain('base failed');
    await Promise.all(outcomes.values());
    expect(events.indexOf('start child')).toBeGreaterThan(events.indexOf('end base'));
    expect(events.indexOf('start other')).toBeLessThan(events.indexOf('end base'));
  });

  it('rejects a concurrency below one', () => {
    expect(() => scheduleCases([], async () => {}, { concurrency: 0, estimate: () => 0 })).toThrow(
      'concurrency 0 is invalid',
    );
  });
});
