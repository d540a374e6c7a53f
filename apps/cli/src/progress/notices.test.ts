import { describe, expect, it } from 'vitest';
import { BuildRecord } from './build-record.js';
import { JsonProgress } from './json.js';
import { PlainProgress } from './plain.js';
import { RECORDED_NOTICES } from './recorded-build.js';
import type { ProgressRenderer } from './renderer.js';
import { TtyProgress } from './tty.js';
import type { Verbosity } from '../render-events.js';

/** A stream stand-in that keeps what was written; `isTTY` only matters to the caller. */
class Capture {
  text = '';
  readonly columns = 120;
  write(text: string): boolean {
    this.text += text;
    return true;
  }
}

/** Replays the recorded notices into `renderer`, with the clock at each event's time. */
function replay(make: (now: () => number, record: BuildRecord) => ProgressRenderer): void {
  let clock = 0;
  const now = () => clock;
  const record = new BuildRecord(now);
  const renderer = make(now, record);
  for (const [time, event] of RECORDED_NOTICES) {
    clock = time;
    record.record(event);
    renderer.event(event);
  }
  renderer.finish();
}

function plain(verbosity: Verbosity): string[] {
  const out = new Capture();
  replay(() => new PlainProgress(out, verbosity));
  return out.text.split('\n').filter(Boolean);
}

describe('notices in plain progress', () => {
  it('shows plugins and warnings at info', () => {
    expect(plain('info')).toEqual([
      'Loaded plugin kiln-plugin-hello from /plugins/hello.mjs',
      '[plugin kiln-plugin-hello] warn: HELLO has no argument',
      'warning: Dockerfile:1: FROM --platform flag should not use a constant value (FromPlatformFlagConstDisallowed)',
      'Building stage 0 (1 stage to build)',
      'warning: Build args not consumed by any ARG: UNUSED',
    ]);
  });

  it('keeps warnings at warn', () => {
    expect(plain('warn')).toEqual([
      '[plugin kiln-plugin-hello] warn: HELLO has no argument',
      'warning: Dockerfile:1: FROM --platform flag should not use a constant value (FromPlatformFlagConstDisallowed)',
      'warning: Build args not consumed by any ARG: UNUSED',
    ]);
  });

  it('shows nothing at error', () => {
    expect(plain('error')).toEqual([]);
  });
});

describe('notices in tty progress', () => {
  it('prints each notice once as a permanent line', () => {
    const out = new Capture();
    replay((now, record) => new TtyProgress(out, { verbosity: 'info', record, now, redrawMs: 0 }));
    for (const line of [
      'Loaded plugin kiln-plugin-hello from /plugins/hello.mjs',
      '[plugin kiln-plugin-hello] warn: HELLO has no argument',
      'warning: Dockerfile:1: FROM --platform flag',
      'warning: Build args not consumed by any ARG: UNUSED',
    ]) {
      expect(out.text.split(line)).toHaveLength(2);
    }
  });
});

describe('notices in json progress', () => {
  it('writes each notice with its fields', () => {
    const out = new Capture();
    replay((now) => new JsonProgress(out, now));
    const records = out.text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records.map((record) => record.type)).toEqual([
      'plugin-loaded',
      'plugin-log',
      'warning',
      'build-start',
      'warning',
    ]);
    expect(records[0]).toMatchObject({
      plugin: 'kiln-plugin-hello',
      source: '/plugins/hello.mjs',
      time: '1970-01-01T00:00:00.000Z',
    });
    expect(records[2]).toMatchObject({ file: 'Dockerfile', line: 1 });
    expect(records[4]?.message).toBe('Build args not consumed by any ARG: UNUSED');
  });
});
